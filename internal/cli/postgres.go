package cli

import (
	"context"
	"errors"

	"github.com/bellhop/bellhop/internal/store"
)

func openPostgres(ctx context.Context, url string) (store.Store, error) {
	return nil, errors.New("postgres: not wired yet")
}
