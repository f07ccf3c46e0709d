package cli

import (
	"bufio"
	"context"
	"fmt"
	"strings"

	"github.com/bellhop/bellhop/client/admin"
)

// The people who sign in to the console.

type adminUserAdd struct {
	Name          string `arg:"" help:"Sign-in name (letters, digits, . _ - @)."`
	Role          string `required:"" enum:"viewer,operator,admin" help:"viewer, operator or admin."`
	PasswordStdin bool   `name:"password-stdin" help:"Read the password from the first line of standard input; without it a password is made and printed once."`
}

func (c *adminUserAdd) Run(ctx context.Context, g *Globals, ac *admin.Client, p *printer) error {
	pw := ""
	if c.PasswordStdin {
		var err error
		if pw, err = readPassword(g); err != nil {
			return err
		}
	}
	return p.one(ac.AddUser(ctx, c.Name, c.Role, pw))
}

type adminUserList struct{}

func (c *adminUserList) Run(ctx context.Context, ac *admin.Client, p *printer) error {
	return p.list("Users", "Id", "Name", "Role", "CreatedUtc")(ac.Users(ctx))
}

type adminUserRole struct {
	ID   string `arg:"" help:"User id."`
	Role string `arg:"" enum:"viewer,operator,admin" help:"viewer, operator or admin."`
}

func (c *adminUserRole) Run(ctx context.Context, ac *admin.Client, p *printer) error {
	return p.one(ac.SetRole(ctx, c.ID, c.Role))
}

type adminUserPassword struct {
	ID            string `arg:"" help:"User id."`
	PasswordStdin bool   `name:"password-stdin" help:"Read the new password from standard input; without it one is made and printed once."`
}

func (c *adminUserPassword) Run(ctx context.Context, g *Globals, ac *admin.Client, p *printer) error {
	pw := ""
	if c.PasswordStdin {
		var err error
		if pw, err = readPassword(g); err != nil {
			return err
		}
	}
	made, err := ac.SetPassword(ctx, c.ID, pw)
	if err != nil || made == "" {
		return err
	}
	return p.one(struct{ Password string }{made}, nil)
}

type adminUserRemove struct {
	ID string `arg:"" help:"User id."`
}

func (c *adminUserRemove) Run(ctx context.Context, ac *admin.Client) error {
	return ac.RemoveUser(ctx, c.ID)
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

func (c *adminAudit) Run(ctx context.Context, ac *admin.Client, p *printer) error {
	return p.list("Entries", "Utc", "Actor", "Action", "Subject", "Detail", "Remote")(ac.Audit(ctx, c.Cursor, c.Limit))
}
