package deployments

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/hikarchive/hikarchive/internal/config"
)

// TestConfigsValidate loads the configuration files this folder adds and
// validates each for the role it is named after.
func TestConfigsValidate(t *testing.T) {
	files := map[string]string{
		"config-cluster/scanner.yaml":     config.RoleScanner,
		"config-cluster/archiver.yaml":    config.RoleArchiver,
		"kubernetes/config/scanner.yaml":  config.RoleScanner,
		"kubernetes/config/archiver.yaml": config.RoleArchiver,
		"systemd/single-box.yaml":         config.RoleSingleBox,
	}
	for path, role := range files {
		t.Run(path, func(t *testing.T) {
			cfg, err := config.Load(path)
			require.NoError(t, err)
			require.NoError(t, cfg.ValidateFor(role))
		})
	}
}

func TestClusterConfigsUseEveryNode(t *testing.T) {
	compose := readYAML(t, "docker-compose.nats-cluster.yml")
	services := compose["services"].(map[string]any)

	var nodes []string
	for name, service := range services {
		command, ok := service.(map[string]any)["command"].([]any)
		if !ok {
			continue
		}
		flags := map[string]string{}
		for _, arg := range command {
			key, value, _ := strings.Cut(arg.(string), "=")
			flags[key] = value
		}
		require.Equal(t, "hikarchive", flags["--cluster_name"], "service %s", name)
		require.Contains(t, command, "--jetstream", "service %s", name)
		require.Equal(t, "nats://nats:6222,nats://nats-2:6222,nats://nats-3:6222", flags["--routes"], "service %s", name)
		require.NotContains(t, nodes, flags["--server_name"], "service %s repeats a server name", name)
		nodes = append(nodes, flags["--server_name"])
	}
	require.Len(t, nodes, 3)

	for _, role := range []string{"scanner", "archiver"} {
		cfg, err := config.Load("config-cluster/" + role + ".yaml")
		require.NoError(t, err)
		require.Equal(t, 3, cfg.NATS.Replicas, role)
		require.Equal(t, "nats://nats:4222,nats://nats-2:4222,nats://nats-3:4222", cfg.NATS.URL, role)

		service := services[role].(map[string]any)
		require.Contains(t, service["volumes"], "./config-cluster:/etc/hikarchive:ro", role)
	}
}

// TestComposeBaseUnchanged makes sure the cluster variant overrides the
// services the main compose file defines, under the same names.
func TestComposeBaseUnchanged(t *testing.T) {
	base := readYAML(t, "docker-compose.yml")["services"].(map[string]any)
	cluster := readYAML(t, "docker-compose.nats-cluster.yml")["services"].(map[string]any)
	for _, name := range []string{"nats", "scanner", "archiver"} {
		require.Contains(t, base, name)
		require.Contains(t, cluster, name)
	}
}

func TestKubernetesDeploymentsMountCameraReadOnly(t *testing.T) {
	deployments := map[string]map[string]any{}
	for _, file := range []string{"kubernetes/scanner.yaml", "kubernetes/archiver.yaml"} {
		for _, document := range readYAMLDocuments(t, file) {
			require.Equal(t, "Deployment", document["kind"], file)
			name := dig(document, "metadata", "name").(string)
			deployments[name] = document
		}
	}
	require.Contains(t, deployments, "hikarchive-scanner")
	require.Contains(t, deployments, "hikarchive-archiver")
	require.Equal(t, 1, dig(deployments["hikarchive-scanner"], "spec", "replicas"))
	require.Equal(t, "Recreate", dig(deployments["hikarchive-scanner"], "spec", "strategy", "type"))
	require.Greater(t, dig(deployments["hikarchive-archiver"], "spec", "replicas"), 1)

	for name, deployment := range deployments {
		podSpec := dig(deployment, "spec", "template", "spec").(map[string]any)
		volumes := map[string]map[string]any{}
		for _, volume := range podSpec["volumes"].([]any) {
			volume := volume.(map[string]any)
			volumes[volume["name"].(string)] = volume
		}
		require.Equal(t, true, dig(volumes["camera"], "persistentVolumeClaim", "readOnly"), name)
		require.Equal(t, "hikarchive-config", dig(volumes["config"], "configMap", "name"), name)

		container := podSpec["containers"].([]any)[0].(map[string]any)
		role := strings.TrimPrefix(name, "hikarchive-")
		require.Equal(t, []any{role, "-config", "/etc/hikarchive/" + role + ".yaml"}, container["args"], name)
		for _, mount := range container["volumeMounts"].([]any) {
			mount := mount.(map[string]any)
			if mount["name"] == "camera" || mount["name"] == "config" {
				require.Equal(t, true, mount["readOnly"], "%s mount %s", name, mount["name"])
			}
		}
	}

	archiver := dig(deployments["hikarchive-archiver"], "spec", "template", "spec", "containers").([]any)[0].(map[string]any)
	require.Equal(t, "hikarchive-s3", dig(archiver["envFrom"].([]any)[0].(map[string]any), "secretRef", "name"))
	secret := readYAMLDocuments(t, "kubernetes/secret.example.yaml")[0]
	require.ElementsMatch(t, []string{"HIKARCHIVE_S3_ACCESS_KEY", "HIKARCHIVE_S3_SECRET_KEY"}, keys(secret["stringData"].(map[string]any)))
}

func TestKustomizationListsExistingFiles(t *testing.T) {
	kustomization := readYAML(t, "kubernetes/kustomization.yaml")
	var files []string
	for _, resource := range kustomization["resources"].([]any) {
		files = append(files, resource.(string))
	}
	for _, generator := range kustomization["configMapGenerator"].([]any) {
		for _, file := range generator.(map[string]any)["files"].([]any) {
			files = append(files, file.(string))
		}
	}
	for _, file := range files {
		_, err := os.Stat(filepath.Join("kubernetes", file))
		require.NoError(t, err, "kustomization.yaml lists %s", file)
	}
	require.NotContains(t, files, "secret.example.yaml", "real keys must not come from the repository")
}

// TestSystemdUnitsRunCommands checks that each unit starts a command this
// repository builds, with a configuration file of the matching role.
func TestSystemdUnitsRunCommands(t *testing.T) {
	units := map[string]string{
		"systemd/hikarchive.service":           "/usr/local/bin/hikarchive run -config /etc/hikarchive/single-box.yaml",
		"systemd/hikarchive-scanner.service":   "/usr/local/bin/scanner -config /etc/hikarchive/scanner.yaml",
		"systemd/hikarchive-archiver@.service": "/usr/local/bin/archiver -config /etc/hikarchive/archiver.yaml",
	}
	for path, want := range units {
		t.Run(path, func(t *testing.T) {
			settings := readUnit(t, path)
			require.Equal(t, []string{want}, settings["Service.ExecStart"])
			require.Equal(t, []string{"hikarchive"}, settings["Service.User"])
			require.Equal(t, []string{"multi-user.target"}, settings["Install.WantedBy"])

			command := filepath.Base(strings.Fields(want)[0])
			_, err := os.Stat(filepath.Join("..", "cmd", command, "main.go"))
			require.NoError(t, err, "no command %s in cmd/", command)
		})
	}
}

// readUnit parses a systemd unit file into "Section.Key" settings.
func readUnit(t *testing.T, path string) map[string][]string {
	t.Helper()
	file, err := os.Open(path)
	require.NoError(t, err)
	defer file.Close()

	settings := map[string][]string{}
	section := ""
	scanner := bufio.NewScanner(file)
	for scanner.Scan() {
		line := strings.TrimSpace(scanner.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";"):
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			section = strings.Trim(line, "[]")
		default:
			key, value, ok := strings.Cut(line, "=")
			require.True(t, ok, "%s: line %q is neither a section nor a setting", path, line)
			settings[section+"."+key] = append(settings[section+"."+key], value)
		}
	}
	require.NoError(t, scanner.Err())
	return settings
}

func readYAML(t *testing.T, path string) map[string]any {
	t.Helper()
	documents := readYAMLDocuments(t, path)
	require.Len(t, documents, 1, path)
	return documents[0]
}

func readYAMLDocuments(t *testing.T, path string) []map[string]any {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)

	var documents []map[string]any
	decoder := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var document map[string]any
		err := decoder.Decode(&document)
		if errors.Is(err, io.EOF) {
			return documents
		}
		require.NoError(t, err, path)
		documents = append(documents, document)
	}
}

// dig follows keys through nested maps and returns nil where one is missing.
func dig(value any, path ...string) any {
	for _, key := range path {
		m, ok := value.(map[string]any)
		if !ok {
			return nil
		}
		value = m[key]
	}
	return value
}

func keys(m map[string]any) []string {
	var out []string
	for key := range m {
		out = append(out, key)
	}
	return out
}
