package service

import (
	"context"
	"io"

	"github.com/skilldock/skilldock/internal/install"
	"github.com/skilldock/skilldock/internal/records"
	"github.com/skilldock/skilldock/internal/skill"
	"github.com/skilldock/skilldock/internal/store"
)

// API is the façade as an interface: *Service implements it in process, and
// the HTTP client implements it against a running "skilldock serve", so the
// CLI behaves the same through either.
type API interface {
	Validate(ctx context.Context, dir string) (*skill.Checked, error)
	Build(ctx context.Context, req BuildRequest) (*BuildResult, error)
	ListBuilds(ctx context.Context) ([]LocalBuild, error)
	DeleteBuilds(ctx context.Context, tags []string) (*DeleteResult, error)
	Tag(ctx context.Context, src, dst string) (string, error)
	Inspect(ctx context.Context, tag string) (*Inspection, error)
	GC(ctx context.Context) (store.GCResult, error)
	Fsck(ctx context.Context) (FsckReport, error)

	Push(ctx context.Context, src, dst string) (*PushResult, error)
	Pull(ctx context.Context, reference string, lim PullLimits) (*PullResult, error)
	Content(ctx context.Context, reference string) (*SkillContent, error)
	ContentFile(ctx context.Context, reference, file string, w io.Writer) error
	ListCache(ctx context.Context) ([]CacheEntry, error)
	PruneCache(ctx context.Context, refs []string) (*PruneResult, error)
	Login(ctx context.Context, registry, username, password string) error
	Logout(ctx context.Context, registry string) error

	Install(ctx context.Context, req InstallRequest) (*InstallResult, error)
	List(ctx context.Context, req ListRequest) ([]records.Install, error)
	Info(ctx context.Context, name string) ([]records.Install, error)
	Uninstall(ctx context.Context, req UninstallRequest) ([]install.RemoveOutcome, error)
	Verify(ctx context.Context, name string) ([]VerifyResult, error)
	Clients(ctx context.Context) ([]ClientInfo, error)
}

var _ API = (*Service)(nil)

// FsckReport is a store check with the store's location.
type FsckReport struct {
	store.FsckResult
	Store string `json:"store"`
}
