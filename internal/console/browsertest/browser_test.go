package browsertest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/bellhop/bellhop/internal/hubtest"
	"github.com/bellhop/bellhop/internal/node"
)

// One browser for every test: starting Chromium is most of a test's time.
var browser struct {
	once    sync.Once
	ctx     context.Context
	cancel  func()
	dataDir string
	err     error
}

// flowTimeout bounds one test's walk through the pages: seconds alone,
// tens of seconds on a machine loaded by the whole suite (a 60 s bound
// was once within 20 s of it).
const flowTimeout = 3 * time.Minute

func TestMain(m *testing.M) {
	code := m.Run()
	if browser.cancel != nil {
		browser.cancel()
	}
	if browser.dataDir != "" {
		os.RemoveAll(browser.dataDir)
	}
	os.Exit(code)
}

func chromiumPath() string {
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p
	}
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium"
	}
	p, _ := exec.LookPath("chromium")
	return p
}

// newTab returns a fresh tab of the shared browser, or skips the test when
// there is no Chromium (fails on CI, where it must be installed).
func newTab(t *testing.T) (context.Context, context.CancelFunc) {
	t.Helper()
	path := chromiumPath()
	if path == "" {
		hubtest.Unavailable(t, "chromium is not installed (apt-get install chromium; the README's test command does)")
	}
	browser.once.Do(func() {
		dir, err := os.MkdirTemp("", "bellhop-chromium-")
		if err != nil {
			browser.err = err
			return
		}
		browser.dataDir = dir
		opts := []chromedp.ExecAllocatorOption{
			chromedp.ExecPath(path),
			chromedp.Headless,
			chromedp.NoSandbox,
			chromedp.DisableGPU,
			chromedp.NoFirstRun,
			chromedp.NoDefaultBrowserCheck,
			chromedp.Flag("disable-background-networking", true),
			chromedp.Flag("disable-component-update", true),
			chromedp.Flag("disable-sync", true),
			chromedp.Flag("disable-dev-shm-usage", true),
			chromedp.UserDataDir(dir),
			chromedp.WindowSize(1280, 900),
		}
		actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
		bctx, bcancel := chromedp.NewContext(actx)
		if err := chromedp.Do(bctx); err != nil { // starts the browser
			browser.err = err
		}
		browser.ctx, browser.cancel = bctx, func() { bcancel(); acancel() }
	})
	if browser.err != nil {
		t.Fatalf("start chromium: %v", browser.err)
	}
	return chromedp.NewContext(browser.ctx)
}

// startHub runs a whole hub on port 0 with the console mounted, and returns
// its base URL and admin token.
func startHub(t *testing.T) (*hubtest.Hub, string, string) {
	t.Helper()
	h := hubtest.Start(t, func(c *node.Config) { c.Console = true })
	return h, h.PlatformAddress(), h.AdminToken
}

// shots saves full-page screenshots where a person can look at them.
type shots struct {
	t    *testing.T
	dirs []string
}

func newShots(t *testing.T) *shots {
	dirs := []string{filepath.Join(t.TempDir(), "screenshots")}
	if d := os.Getenv("BELLHOP_SCREENSHOTS"); d != "" {
		dirs = append(dirs, d)
	}
	for _, d := range dirs {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return &shots{t: t, dirs: dirs}
}

func (s *shots) take(name string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		png, err := chromedp.FullScreenshot(100)(ctx, t)
		if err != nil {
			return err
		}
		for _, d := range s.dirs {
			p := filepath.Join(d, name+".png")
			if err := os.WriteFile(p, png, 0o644); err != nil {
				return err
			}
			s.t.Logf("screenshot %s", p)
		}
		return nil
	})
}

// TestConsole walks the flow in a real browser: sign in, create a
// device, connect it to a subscription, send a test command, see it appear
// in the queue without a reload, cancel it and see the state change live,
// then read its history.
func TestConsole(t *testing.T) {
	_, base, token := startHub(t)
	tab, closeTab := newTab(t)
	defer closeTab()
	ctx, cancel := context.WithTimeout(tab, flowTimeout)
	defer cancel()
	shot := newShots(t)
	run := runner(t, ctx)
	flash := func(want string) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			text, err := chromedp.Text(chromedp.CSS(".flash"))(ctx, tg)
			if err != nil {
				return err
			}
			if !strings.Contains(text, want) {
				t.Errorf("flash %q, want it to contain %q", text, want)
			}
			return nil
		})
	}

	var loc string
	run("sign in",
		chromedp.Navigate(base+"/"),
		chromedp.WaitVisible(chromedp.ID("password")),
		into(chromedp.Location(), &loc),
	)
	if !strings.HasSuffix(loc, "/signin") {
		t.Fatalf("signed out, / went to %s, want /signin", loc)
	}
	run("sign in", shot.take("01-signin"),
		chromedp.Click(chromedp.CSS(".token-signin summary")),
		chromedp.WaitVisible(chromedp.ID("token")),
		chromedp.SendKeys(chromedp.ID("token"), token),
		submit(`.token-signin button`),
		chromedp.WaitVisible(chromedp.ID("queue-empty")),
	)

	run("create an enterprise and a device",
		chromedp.Navigate(base+"/devices"),
		chromedp.SendKeys(chromedp.ID("e-name"), "Hotel Aurora"),
		submit(`form[action="/enterprises"] button`),
		chromedp.WaitVisible(chromedp.CSS(".flash-ok")),
		chromedp.WaitVisible(chromedp.ID("d-name")),
		chromedp.SendKeys(chromedp.ID("d-name"), "Front desk printer"),
		chromedp.SendKeys(chromedp.ID("d-identifier"), "PRN-1"),
		chromedp.SendKeys(chromedp.ID("c-pn"), "HP LaserJet 4"),
		submit(`#device-form button[type="submit"]`),
		chromedp.WaitVisible(chromedp.CSS(".flash-ok")),
		flash("Front desk printer is created"),
	)

	run("create an integration and a subscription, connect the device",
		chromedp.Navigate(base+"/integrations"),
		chromedp.SendKeys(chromedp.ID("i-name"), "Lock vendor"),
		submit(`form[action="/integrations"] button`),
		chromedp.WaitVisible(chromedp.ID("new-token")),
		submit(`form[action="/subscriptions"] button`),
		chromedp.WaitVisible(chromedp.ID("new-token")),
		shot.take("03-integrations-new-token"),
		submit(`form[action$="/connect"] button`),
		chromedp.WaitVisible(chromedp.CSS(".flash-ok")),
		flash("connected"),
		chromedp.WaitVisible(chromedp.CSS(`form[action$="/disconnect"]`)),
		shot.take("04-integrations"),
		chromedp.Navigate(base+"/devices"),
		chromedp.WaitVisible(chromedp.CSS(".devices .tag")), // the connected subscription
		shot.take("02-devices"),
	)

	// The queue, open in this tab, must show the new command without a
	// reload: a marker on window would vanish with one.
	run("open the live queue",
		chromedp.Navigate(base+"/"),
		chromedp.WaitVisible(chromedp.CSS("#live-status.on")),
		chromedp.Evaluate[chromedp.Void](`window.__noReload = true`),
	)

	other, closeOther := chromedp.NewContext(tab)
	defer closeOther()
	octx, ocancel := context.WithTimeout(other, flowTimeout)
	defer ocancel()
	var cmdURL string
	if err := chromedp.Do(octx,
		chromedp.Navigate(base+"/test"),
		chromedp.WaitVisible(chromedp.ID("t-copies")), // the printer's fieldset is shown
		shot.take("05-test"),
		submit(`#test-form button[type="submit"]`),
		chromedp.WaitVisible(chromedp.CSS(".history")),
		into(chromedp.Location(), &cmdURL),
	); err != nil {
		t.Fatalf("send a test command: %v", err)
	}
	m := regexp.MustCompile(`/commands/([0-9a-f-]{36})$`).FindStringSubmatch(cmdURL)
	if m == nil {
		t.Fatalf("after sending, the page is %s, want the command's page", cmdURL)
	}
	id := m[1]
	row := "#c-" + id

	run("watch it appear",
		chromedp.WaitVisible(chromedp.CSS(row+" .st-pending")),
		shot.take("06-queue"),
	)

	if err := chromedp.Do(octx,
		chromedp.SendKeys(chromedp.ID("cancel-notes"), "Wrong guest"),
		submit(`.actions-bar form[action$="/cancel"] button`),
		chromedp.WaitVisible(chromedp.CSS(".flash-ok")),
	); err != nil {
		t.Fatalf("cancel: %v", err)
	}
	var noReload bool
	run("watch it change",
		chromedp.WaitVisible(chromedp.CSS(row+" .st-cancelled")),
		into(chromedp.Evaluate[bool](`window.__noReload === true`), &noReload),
	)
	if !noReload {
		t.Fatal("the queue page reloaded; it should update in place")
	}

	var history, pdfType string
	run("read the history",
		chromedp.Click(chromedp.CSS(row+" a.mono")),
		chromedp.WaitVisible(chromedp.CSS(".history")),
		into(chromedp.Text(chromedp.CSS(".history tbody")), &history),
		into(chromedp.Evaluate[string](`fetch(document.querySelector('a[href$="/pdf"]').href).then(r => r.headers.get("Content-Type"))`,
			chromedp.EvalAwaitPromise), &pdfType),
		shot.take("07-command"),
	)
	if !strings.Contains(history, "Pending") || !strings.Contains(history, "Cancelled") || !strings.Contains(history, "Wrong guest") {
		t.Fatalf("history %q: want Pending, then Cancelled with the reason", history)
	}
	if pdfType != "application/pdf" {
		t.Fatalf("the PDF link serves %q", pdfType)
	}

	run("health and a tablet view",
		chromedp.Navigate(base+"/health"),
		chromedp.WaitVisible(chromedp.CSS(".tiles")),
		shot.take("08-health"),
		chromedp.EmulateViewport(768, 1024),
		chromedp.Navigate(base+"/"),
		chromedp.WaitVisible(chromedp.CSS(row)),
		shot.take("09-queue-tablet"),
		chromedp.EmulateViewport(390, 844),
		chromedp.Navigate(base+"/"),
		chromedp.WaitVisible(chromedp.CSS(row)),
		shot.take("10-queue-phone"),
	)
}

// runner returns a function that runs a step's actions in ctx and stops the
// test, naming the step, when one fails.
func runner(t *testing.T, ctx context.Context) func(step string, actions ...chromedp.Action[chromedp.Void]) {
	return func(step string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			t.Fatalf("%s: %v", step, err)
		}
	}
}

// into runs an action that returns a value and stores the value in dst, so it
// can stand among the steps of chromedp.Do.
func into[T any](a chromedp.Action[T], dst *T) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		v, err := a(ctx, t)
		*dst = v
		return err
	})
}

// submit clicks a button that submits a form and waits until the browser
// has loaded the page that answers it: the old page's window carries a
// marker, and the new one does not.
func submit(sel string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		if _, err := chromedp.Evaluate[chromedp.Void](`window.__oldPage = true`)(ctx, t); err != nil {
			return err
		}
		if _, err := chromedp.Click(chromedp.CSS(sel))(ctx, t); err != nil {
			return err
		}
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			// Errors are expected while the old page goes away.
			fresh, err := chromedp.Evaluate[bool](`!window.__oldPage && document.readyState === "complete"`)(ctx, t)
			if err == nil && fresh {
				return nil
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("submit %s: no new page: %w", sel, ctx.Err())
			case <-tick.C:
			}
		}
	})
}
