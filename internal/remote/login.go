package remote

import (
	"context"
	"errors"

	"oras.land/oras-go/v2/registry/remote"
	"oras.land/oras-go/v2/registry/remote/auth"
	"oras.land/oras-go/v2/registry/remote/credentials"

	"github.com/skilldock/skilldock/internal/errdef"
)

// Login checks the credentials against the registry and, if it accepts
// them, saves them in the Docker config (or its credential helper).
func (c *Client) Login(ctx context.Context, registry, username, password string) error {
	reg, err := remote.NewRegistry(registry)
	if err != nil {
		return errdef.Errorf(errdef.ErrInvalid, "invalid registry %q: %v", registry, err)
	}
	reg.PlainHTTP = c.opts.PlainHTTP || IsLoopback(registry)
	reg.Client = c.authClient()
	err = credentials.Login(ctx, c.creds, reg, auth.Credential{Username: username, Password: password})
	if err != nil {
		return c.classify(registry, "login", err)
	}
	return nil
}

// Logout removes saved credentials for a registry. A credential helper's
// failure is returned as it is, naming the helper.
func (c *Client) Logout(ctx context.Context, registry string) error {
	err := credentials.Logout(ctx, c.creds, registry)
	var he *helperError
	if errors.As(err, &he) {
		return he
	}
	return err
}
