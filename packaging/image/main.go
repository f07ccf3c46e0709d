// Command image writes the hub's container image as an OCI image layout in
// a tar file, from a static linux bellhop binary (CGO_ENABLED=0), without a
// container engine or a base image: one layer with the binary, a passwd
// and group naming the bellhop user (65532), the system's CA certificates
// (for PostgreSQL over TLS and the agent's hubs), /tmp, and the data volume.
// scripts/package runs it.
//
//	go run ./packaging/image --binary dist/root/bellhop --version 1.2.3 --output dist/bellhop-hub.oci.tar
package main

import (
	"archive/tar"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// The image's user, port and volume.
const (
	UID     = 65532
	Port    = "8080/tcp"
	DataDir = "/var/lib/bellhop"
	Binary  = "/usr/bin/bellhop"
	CACerts = "/etc/ssl/certs/ca-certificates.crt"
)

func main() {
	bin := flag.String("binary", "", "static linux bellhop binary")
	out := flag.String("output", "bellhop-hub.oci.tar", "OCI layout tar file to write")
	version := flag.String("version", "dev", "the image's version label and tag")
	arch := flag.String("arch", runtime.GOARCH, "the binary's architecture")
	cacerts := flag.String("ca-certificates", CACerts, "CA bundle to include, if it exists")
	flag.Parse()
	if err := write(*bin, *out, *version, *arch, *cacerts); err != nil {
		fmt.Fprintln(os.Stderr, "image:", err)
		os.Exit(1)
	}
}

// write builds the image and writes it to out.
func write(bin, out, version, arch, cacerts string) error {
	img, err := build(bin, version, arch, cacerts)
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "bellhop-image-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return err
	}
	if err := p.AppendImage(img, layout.WithAnnotations(map[string]string{
		"org.opencontainers.image.ref.name": version,
		"io.containerd.image.name":          "bellhop-hub:" + version,
	})); err != nil {
		return err
	}
	return tarDir(dir, out)
}

// build assembles the image.
func build(bin, version, arch, cacerts string) (v1.Image, error) {
	layer, err := rootLayer(bin, cacerts)
	if err != nil {
		return nil, err
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Created = "linux", arch, v1.Time{Time: time.Unix(0, 0).UTC()}
	cf.Config = v1.Config{
		User:       fmt.Sprintf("%d:%d", UID, UID),
		Entrypoint: []string{Binary, "serve"},
		// Environment, not arguments: `docker run IMAGE --dev` adds to them.
		Env: []string{"BELLHOP_ADDR=0.0.0.0:8080", "BELLHOP_DATA=" + DataDir,
			"SSL_CERT_FILE=" + CACerts},
		ExposedPorts: map[string]struct{}{Port: {}},
		Volumes:      map[string]struct{}{DataDir: {}},
		WorkingDir:   DataDir,
		Labels: map[string]string{
			"org.opencontainers.image.title":   "bellhop hub",
			"org.opencontainers.image.version": version,
			"org.opencontainers.image.source":  "https://github.com/bellhop/bellhop",
		},
	}
	return mutate.ConfigFile(img, cf)
}

// rootLayer is the image's one layer.
func rootLayer(bin, cacerts string) (v1.Layer, error) {
	binary, err := os.ReadFile(bin)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	epoch := time.Unix(0, 0)
	dir := func(name string, mode int64, uid int) error {
		return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: name + "/", Mode: mode, Uid: uid, Gid: uid, ModTime: epoch})
	}
	file := func(name string, mode int64, data []byte) error {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode, Size: int64(len(data)), ModTime: epoch}); err != nil {
			return err
		}
		_, err := tw.Write(data)
		return err
	}
	steps := []error{
		dir("etc", 0o755, 0),
		file("etc/passwd", 0o644, fmt.Appendf(nil, "root:x:0:0:root:/root:/sbin/nologin\nbellhop:x:%d:%d:bellhop:%s:/sbin/nologin\n", UID, UID, DataDir)),
		file("etc/group", 0o644, fmt.Appendf(nil, "root:x:0:\nbellhop:x:%d:\n", UID)),
		dir("tmp", 0o1777, 0),
		dir("usr", 0o755, 0), dir("usr/bin", 0o755, 0),
		file(Binary[1:], 0o755, binary),
		dir("var", 0o755, 0), dir("var/lib", 0o755, 0),
		dir(DataDir[1:], 0o750, UID),
	}
	if certs, err := os.ReadFile(cacerts); err == nil {
		steps = append(steps, dir("etc/ssl", 0o755, 0), dir("etc/ssl/certs", 0o755, 0), file(CACerts[1:], 0o644, certs))
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	steps = append(steps, tw.Close())
	if err := errors.Join(steps...); err != nil {
		return nil, err
	}
	data := b.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil })
}

// tarDir writes the files under dir into the tar file out.
func tarDir(dir, out string) error {
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(f)
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || path == dir {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		h, err := tar.FileInfoHeader(info, "")
		if err != nil {
			return err
		}
		h.Name, h.ModTime, h.Uid, h.Gid, h.Uname, h.Gname = filepath.ToSlash(rel), time.Unix(0, 0), 0, 0, "", ""
		h.Mode = 0o644
		if d.IsDir() {
			h.Name, h.Mode = h.Name+"/", 0o755
		}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		src, err := os.Open(path)
		if err != nil {
			return err
		}
		defer src.Close()
		_, err = io.Copy(tw, src)
		return err
	})
	if err := errors.Join(err, tw.Close(), f.Close()); err != nil {
		return fmt.Errorf("writing %s: %w", out, err)
	}
	return nil
}
