package service

import (
	"github.com/skilldock/skilldock/internal/store"
)

// Config says where the service keeps its state.
type Config struct {
	StorePath string // empty means store.DefaultPath()
}

// Service is the façade. It is safe for concurrent use, and several services
// in several processes may share one store.
type Service struct {
	cfg   Config
	store *store.Store
}

// New opens (creating if needed) the store.
func New(cfg Config) (*Service, error) {
	p := cfg.StorePath
	if p == "" {
		var err error
		if p, err = store.DefaultPath(); err != nil {
			return nil, err
		}
	}
	st, err := store.Open(p)
	if err != nil {
		return nil, err
	}
	cfg.StorePath = st.Root()
	return &Service{cfg: cfg, store: st}, nil
}

// Store exposes the underlying store for tests and tools.
func (s *Service) Store() *store.Store { return s.store }
