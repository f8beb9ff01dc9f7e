package testutil

import (
	"encoding/json"
	"os"
	"os/exec"
)

// KeepGoEnv exports the go command's cache, module and configuration folders
// as they are now, before Main points HOME (and tests point XDG_CACHE_HOME)
// at temporary folders. Without it the "go build" behind Binary derives them
// from the temporary HOME: an empty build cache and module cache, so every
// test binary rebuilds the world and downloads every module again. Call it
// first in TestMain.
func KeepGoEnv() {
	goTool, err := exec.LookPath("go")
	if err != nil {
		return // Binary reports the missing tool
	}
	out, err := exec.Command(goTool, "env", "-json", "GOCACHE", "GOMODCACHE", "GOPATH", "GOENV", "GOFLAGS", "GOPROXY").Output()
	if err != nil {
		return
	}
	var vars map[string]string
	if json.Unmarshal(out, &vars) != nil {
		return
	}
	for k, v := range vars {
		if os.Getenv(k) == "" && v != "" {
			os.Setenv(k, v)
		}
	}
}
