package cli

import (
	"bufio"
	"context"
	"fmt"
	"strings"

	"github.com/alecthomas/kong"
	"github.com/bellhop/bellhop/client/admin"
)

// adminUsers manages the people who sign in to the console.
type adminUsers struct {
	Add struct {
		Name          string `arg:"" help:"Sign-in name (letters, digits, . _ - @)."`
		Role          string `required:"" enum:"viewer,operator,admin" help:"viewer, operator or admin."`
		PasswordStdin bool   `name:"password-stdin" help:"Read the password from the first line of standard input; without it a password is made and printed once."`
	} `cmd:"" help:"Add a console user."`
	List struct{} `cmd:"" help:"List console users."`
	Role struct {
		ID   string `arg:"" help:"User id."`
		Role string `arg:"" enum:"viewer,operator,admin" help:"viewer, operator or admin."`
	} `cmd:"" help:"Change a user's role (open sessions follow at once)."`
	Password struct {
		ID            string `arg:"" help:"User id."`
		PasswordStdin bool   `name:"password-stdin" help:"Read the new password from standard input; without it one is made and printed once."`
	} `cmd:"" help:"Give a user a new password; their sessions end."`
	Remove struct {
		ID string `arg:"" help:"User id."`
	} `cmd:"" help:"Remove a user; their sessions end."`
}

func (c *adminUsers) Run(ctx context.Context, g *Globals, a *AdminCmd, k *kong.Context, ac *admin.Client) error {
	switch {
	case is(k, "add"):
		pw := ""
		if c.Add.PasswordStdin {
			var err error
			if pw, err = readPassword(g); err != nil {
				return err
			}
		}
		v, err := ac.AddUser(ctx, c.Add.Name, c.Add.Role, pw)
		return a.result(g, v, err, "")
	case is(k, "role"):
		v, err := ac.SetRole(ctx, c.Role.ID, c.Role.Role)
		return a.result(g, v, err, "")
	case is(k, "password"):
		pw := ""
		if c.Password.PasswordStdin {
			var err error
			if pw, err = readPassword(g); err != nil {
				return err
			}
		}
		made, err := ac.SetPassword(ctx, c.Password.ID, pw)
		if err != nil || made == "" {
			return err
		}
		return a.result(g, struct{ Password string }{made}, nil, "")
	case is(k, "remove"):
		return ac.RemoveUser(ctx, c.Remove.ID)
	}
	v, err := ac.Users(ctx)
	return a.result(g, struct{ Users []admin.User }{v}, err, "Users", "Id", "Name", "Role", "CreatedUtc")
}

// readPassword reads one line of standard input, so that a password never
// stands in the shell's history or in the process list.
func readPassword(g *Globals) (string, error) {
	line, err := bufio.NewReader(g.stdin).ReadString('\n')
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		if err != nil {
			return "", fmt.Errorf("read the password from standard input: %w", err)
		}
		return "", fmt.Errorf("the password on standard input is empty")
	}
	return line, nil
}

// adminAudit reads the audit list.
type adminAudit struct {
	Cursor string `help:"Continue after this entry."`
	Limit  int    `default:"50"`
}

func (c *adminAudit) Run(ctx context.Context, g *Globals, a *AdminCmd, ac *admin.Client) error {
	v, err := ac.Audit(ctx, c.Cursor, c.Limit)
	return a.result(g, v, err, "Entries", "Utc", "Actor", "Action", "Subject", "Detail", "Remote")
}
