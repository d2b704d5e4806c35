package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/runlet/runlet/internal/client"
)

func variableSetCmd(ctx context.Context, cc *clientCmd, argv []string) error {
	secret := cc.fs.Bool("secret", false, "store the value encrypted and hide it from lists")
	description := cc.fs.String("description", "", "what the variable is for")
	pos, err := cc.parse(argv, 2, 2)
	if err != nil {
		return err
	}
	path, value := pos[0], pos[1]
	if value == "-" {
		b, err := readArgFile(cc.env, "-")
		if err != nil {
			return cc.usagef("read the value from stdin: %v", err)
		}
		value = strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
	}
	c, err := cc.client()
	if err != nil {
		return err
	}
	err = c.CreateVariable(ctx, client.Variable{Path: path, Value: value, IsSecret: *secret, Description: *description})
	if err == nil {
		fmt.Fprintf(cc.env.Stdout, "created variable %s\n", path)
		return nil
	}
	if !errors.Is(err, client.ErrConflict) {
		return err
	}
	// It exists: change the value, and the secrecy and description only
	// when given.
	u := client.VariableUpdate{Value: &value}
	set := cc.set()
	if set["secret"] {
		u.IsSecret = secret
	}
	if set["description"] {
		u.Description = description
	}
	if err := c.UpdateVariable(ctx, path, u); err != nil {
		return err
	}
	fmt.Fprintf(cc.env.Stdout, "updated variable %s\n", path)
	return nil
}

func variableGetCmd(ctx context.Context, cc *clientCmd, argv []string) error {
	asJSON := cc.fs.Bool("json", false, "print the variable as JSON")
	pos, err := cc.parse(argv, 1, 1)
	if err != nil {
		return err
	}
	c, err := cc.client()
	if err != nil {
		return err
	}
	v, err := c.GetVariable(ctx, pos[0])
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(cc.env.Stdout, v)
	}
	fmt.Fprintln(cc.env.Stdout, v.Value)
	return nil
}

func variableListCmd(ctx context.Context, cc *clientCmd, argv []string) error {
	asJSON := cc.fs.Bool("json", false, "print JSON")
	if _, err := cc.parse(argv, 0, 0); err != nil {
		return err
	}
	c, err := cc.client()
	if err != nil {
		return err
	}
	vars, err := c.ListVariables(ctx)
	if err != nil {
		return err
	}
	if *asJSON {
		if vars == nil {
			vars = []client.Variable{}
		}
		return printJSON(cc.env.Stdout, vars)
	}
	rows := make([][]string, len(vars))
	for i, v := range vars {
		value := truncate(v.Value, 40)
		if v.IsSecret {
			value = "(secret)"
		}
		rows[i] = []string{v.Path, value, truncate(v.Description, 60)}
	}
	return writeTable(cc.env.Stdout, []string{"PATH", "VALUE", "DESCRIPTION"}, rows)
}
