package cli

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/runlet/runlet/internal/client"
)

func userAddCmd(ctx context.Context, cc *clientCmd, argv []string) error {
	role := cc.fs.String("role", "developer", "admin, developer or operator")
	pos, err := cc.parse(argv, 1, 1)
	if err != nil {
		return err
	}
	c, err := cc.client()
	if err != nil {
		return err
	}
	u, err := c.AddUser(ctx, pos[0], *role)
	if err != nil {
		return err
	}
	fmt.Fprintf(cc.env.Stdout, "added user %s (%s)\n", u.Name, u.Role)
	return nil
}

func userListCmd(ctx context.Context, cc *clientCmd, argv []string) error {
	asJSON := cc.fs.Bool("json", false, "print JSON")
	if _, err := cc.parse(argv, 0, 0); err != nil {
		return err
	}
	c, err := cc.client()
	if err != nil {
		return err
	}
	us, err := c.ListUsers(ctx)
	if err != nil {
		return err
	}
	if *asJSON {
		if us == nil {
			us = []client.User{}
		}
		return printJSON(cc.env.Stdout, us)
	}
	rows := make([][]string, len(us))
	for i, u := range us {
		rows[i] = []string{u.Name, u.Role, u.CreatedAt.UTC().Format(time.RFC3339)}
	}
	return writeTable(cc.env.Stdout, []string{"NAME", "ROLE", "CREATED"}, rows)
}

func userRemoveCmd(ctx context.Context, cc *clientCmd, argv []string) error {
	pos, err := cc.parse(argv, 1, 1)
	if err != nil {
		return err
	}
	c, err := cc.client()
	if err != nil {
		return err
	}
	if err := c.RemoveUser(ctx, pos[0]); err != nil {
		return err
	}
	fmt.Fprintf(cc.env.Stdout, "removed user %s and revoked their tokens\n", pos[0])
	return nil
}

func userSetRoleCmd(ctx context.Context, cc *clientCmd, argv []string) error {
	pos, err := cc.parse(argv, 2, 2)
	if err != nil {
		return err
	}
	c, err := cc.client()
	if err != nil {
		return err
	}
	u, err := c.SetRole(ctx, pos[0], pos[1])
	if err != nil {
		return err
	}
	fmt.Fprintf(cc.env.Stdout, "user %s is now %s\n", u.Name, u.Role)
	return nil
}

// parseExpiry reads durations like 30d, 12h, 90m or 3600 (seconds).
func parseExpiry(s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil && n > 0 {
		return time.Duration(n) * time.Second, nil
	}
	if d, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(d)
		if err != nil || n <= 0 {
			return 0, fmt.Errorf("want e.g. 30d, 12h or 3600")
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("want e.g. 30d, 12h or 3600")
	}
	return d, nil
}

func tokenCreateCmd(ctx context.Context, cc *clientCmd, argv []string) error {
	var scopes multiFlag
	user := cc.fs.String("user", "", "the token's user (admins only; default: yourself)")
	service := cc.fs.Bool("service", false, "a service token with its own --role (admins only)")
	role := cc.fs.String("role", "", "the token's role (at most its user's)")
	cc.fs.Var(&scopes, "scope", "limit the token, e.g. jobs:run:scripts:f/ops/* or scripts:read (repeatable)")
	expires := cc.fs.String("expires", "", "lifetime, e.g. 30d, 12h (default: never)")
	label := cc.fs.String("label", "", "what the token is for")
	if _, err := cc.parse(argv, 0, 0); err != nil {
		return err
	}
	d, err := parseExpiry(*expires)
	if err != nil {
		return cc.usagef("--expires %q: %v", *expires, err)
	}
	if *service && *role == "" {
		*role = "operator"
	}
	c, err := cc.client()
	if err != nil {
		return err
	}
	t, err := c.CreateToken(ctx, client.NewToken{User: *user, Service: *service, Role: *role, Scopes: scopes, ExpiresIn: int64(d / time.Second), Label: *label})
	if err != nil {
		return err
	}
	fmt.Fprintln(cc.env.Stdout, t.Token)
	fmt.Fprintf(cc.env.Stderr, "token %s… (%s) created; it is shown only this once\n", t.Prefix, t.Role)
	return nil
}

func tokenListCmd(ctx context.Context, cc *clientCmd, argv []string) error {
	asJSON := cc.fs.Bool("json", false, "print JSON")
	if _, err := cc.parse(argv, 0, 0); err != nil {
		return err
	}
	c, err := cc.client()
	if err != nil {
		return err
	}
	ts, err := c.ListTokens(ctx)
	if err != nil {
		return err
	}
	if *asJSON {
		if ts == nil {
			ts = []client.Token{}
		}
		return printJSON(cc.env.Stdout, ts)
	}
	rows := make([][]string, len(ts))
	for i, t := range ts {
		exp := "never"
		if t.ExpiresAt != nil {
			exp = t.ExpiresAt.UTC().Format(time.RFC3339)
		}
		owner := t.Owner
		if owner == "" {
			owner = "(service)"
		}
		rows[i] = []string{t.Prefix, owner, t.Role, strings.Join(t.Scopes, ","), exp, truncate(t.Label, 40)}
	}
	return writeTable(cc.env.Stdout, []string{"PREFIX", "USER", "ROLE", "SCOPES", "EXPIRES", "LABEL"}, rows)
}

func tokenRevokeCmd(ctx context.Context, cc *clientCmd, argv []string) error {
	pos, err := cc.parse(argv, 1, 1)
	if err != nil {
		return err
	}
	c, err := cc.client()
	if err != nil {
		return err
	}
	if err := c.RevokeToken(ctx, pos[0]); err != nil {
		return err
	}
	fmt.Fprintf(cc.env.Stdout, "revoked token %s\n", pos[0])
	return nil
}
