package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// roleOfExample maps an example file name to the role it is written for.
func roleOfExample(t *testing.T, name string) string {
	t.Helper()

	role := strings.TrimSuffix(name, filepath.Ext(name))
	switch role {
	case RoleScanner, RoleArchiver, RoleSingleBox:
		return role
	}

	t.Fatalf("example %s is not named after a role (scanner, archiver or single-box): rename it or teach this test its role", name)
	return ""
}

// TestExampleConfigs loads every file in configs/ and deployments/config/
// and validates it for the role its name gives.
func TestExampleConfigs(t *testing.T) {
	for _, dir := range []string{"../../configs", "../../deployments/config"} {
		entries, err := os.ReadDir(dir)
		require.NoError(t, err)

		found := 0
		for _, entry := range entries {
			if entry.IsDir() || !strings.HasSuffix(entry.Name(), ".yaml") {
				continue
			}
			found++

			path := filepath.Join(dir, entry.Name())
			t.Run(path, func(t *testing.T) {
				role := roleOfExample(t, entry.Name())

				cfg, err := Load(path)
				require.NoError(t, err)
				assert.NoError(t, cfg.ValidateFor(role))
			})
		}
		assert.NotZero(t, found, "no example files in %s", dir)
	}
}

func TestSingleBoxExampleCamera(t *testing.T) {
	cfg, err := Load("../../configs/single-box.yaml")
	require.NoError(t, err)

	require.NotNil(t, cfg.Simulator)
	require.Len(t, cfg.Cameras, 1)
	assert.Equal(t, cfg.Simulator.Path, cfg.Cameras[0].Path, "the camera reads what the simulator writes")
	assert.Equal(t, cfg.Simulator.TimeZone, cfg.Cameras[0].TimeZone)
	assert.Empty(t, cfg.NATS.URL, "single-box runs an embedded NATS server")
	assert.Equal(t, "local", cfg.Store.Kind)
	assert.Equal(t, "data/archive", cfg.Store.Local.Root)
}

func TestExamplesHaveTwoCameras(t *testing.T) {
	for _, name := range []string{"scanner.yaml", "archiver.yaml"} {
		t.Run(name, func(t *testing.T) {
			cfg, err := Load(filepath.Join("../../configs", name))
			require.NoError(t, err)

			require.Len(t, cfg.Cameras, 2)
			assert.NotEqual(t, "UTC", cfg.Cameras[0].TimeZone, "the examples show a real time zone")
			assert.Equal(t, "nats://127.0.0.1:4222", cfg.NATS.URL)
		})
	}
}
