package cli

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/runlet/runlet/internal/client"
)

func resourceSetCmd(ctx context.Context, cc *clientCmd, argv []string) error {
	typ := cc.fs.String("type", "", "the resource `type`, e.g. postgresql (required)")
	value := cc.fs.String("value", "", "the value as `JSON`")
	file := cc.fs.String("file", "", "read the JSON value from file `F` (- for stdin)")
	description := cc.fs.String("description", "", "what the resource is for")
	pos, err := cc.parse(argv, 1, 1)
	if err != nil {
		return err
	}
	if *typ == "" {
		return cc.usagef("--type is required")
	}
	set := cc.set()
	if set["value"] == set["file"] {
		return cc.usagef("give the value with exactly one of --value JSON or --file F")
	}
	raw := []byte(*value)
	if set["file"] {
		if raw, err = readArgFile(cc.env, *file); err != nil {
			return cc.usagef("%v", err)
		}
	}
	if !json.Valid(raw) {
		return cc.usagef("the value is not valid JSON")
	}
	c, err := cc.client()
	if err != nil {
		return err
	}
	r := client.Resource{Path: pos[0], ResourceType: *typ, Value: compact(raw), Description: *description}
	if err := c.SetResource(ctx, r); err != nil {
		return err
	}
	fmt.Fprintf(cc.env.Stdout, "set resource %s\n", pos[0])
	return nil
}

func resourceGetCmd(ctx context.Context, cc *clientCmd, argv []string) error {
	asJSON := cc.fs.Bool("json", false, "print the resource (type, description, value) as JSON")
	pos, err := cc.parse(argv, 1, 1)
	if err != nil {
		return err
	}
	c, err := cc.client()
	if err != nil {
		return err
	}
	r, err := c.GetResource(ctx, pos[0])
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(cc.env.Stdout, r)
	}
	return printJSON(cc.env.Stdout, r.Value)
}

func resourceListCmd(ctx context.Context, cc *clientCmd, argv []string) error {
	asJSON := cc.fs.Bool("json", false, "print JSON")
	if _, err := cc.parse(argv, 0, 0); err != nil {
		return err
	}
	c, err := cc.client()
	if err != nil {
		return err
	}
	list, err := c.ListResources(ctx)
	if err != nil {
		return err
	}
	if *asJSON {
		if list == nil {
			list = []client.Resource{}
		}
		return printJSON(cc.env.Stdout, list)
	}
	rows := make([][]string, len(list))
	for i, r := range list {
		rows[i] = []string{r.Path, r.ResourceType, truncate(r.Description, 60)}
	}
	return writeTable(cc.env.Stdout, []string{"PATH", "TYPE", "DESCRIPTION"}, rows)
}
