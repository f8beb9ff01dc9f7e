package service

import (
	"github.com/skilldock/skilldock/internal/clients"
	"github.com/skilldock/skilldock/internal/remote"
	"github.com/skilldock/skilldock/internal/store"
)

// Config says where the service keeps its state.
type Config struct {
	StorePath string // empty means store.DefaultPath()
	Remote    remote.Options
	// RecordsPath is the install records database; empty means
	// records.DefaultPath().
	RecordsPath string
	// Env is where agents' folders are; zero means $HOME and XDG variables.
	Env clients.Env
}

// Service is the façade. It is safe for concurrent use, and several services
// in several processes may share one store.
type Service struct {
	cfg   Config
	store *store.Store
	rs    remoteState
	is    installState
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
