package apiclient

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Config is what `srarena login` stores: the server and the token.
type Config struct {
	Server string `json:"server"`
	Token  string `json:"token"`
}

// ConfigPath is os.UserConfigDir()/srarena/config.json
// ($XDG_CONFIG_HOME/srarena/config.json, else ~/.config/srarena/config.json).
func ConfigPath() (string, error) {
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("config directory: %w", err)
	}
	return filepath.Join(dir, "srarena", "config.json"), nil
}

// ErrNoConfig: `srarena login` has not been run.
var ErrNoConfig = errors.New("not logged in: run `srarena login --server URL --token TOKEN` first (create a token on the site's account page)")

// LoadConfig reads the stored login.
func LoadConfig() (Config, error) {
	var c Config
	p, err := ConfigPath()
	if err != nil {
		return c, err
	}
	b, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return c, ErrNoConfig
	}
	if err != nil {
		return c, fmt.Errorf("reading %s: %w", p, err)
	}
	if err := json.Unmarshal(b, &c); err != nil || c.Server == "" || c.Token == "" {
		return c, fmt.Errorf("%s is damaged; run `srarena login` again", p)
	}
	return c, nil
}

// SaveConfig writes the login readable by its owner only (0600, in a 0700
// directory): the token is a password. The file is replaced atomically.
func SaveConfig(c Config) (string, error) {
	p, err := ConfigPath()
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return "", fmt.Errorf("config directory: %w", err)
	}
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return "", err
	}
	tmp, err := os.CreateTemp(filepath.Dir(p), ".config-*.json")
	if err != nil {
		return "", fmt.Errorf("writing the config: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return "", err
	}
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return "", fmt.Errorf("writing the config: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return "", err
	}
	if err := os.Rename(tmp.Name(), p); err != nil {
		return "", fmt.Errorf("writing the config: %w", err)
	}
	return p, nil
}
