// Package deployments holds no code. Its test checks the deployment files
// in this folder (configurations, Compose, Kubernetes and systemd) against
// the configuration loader and against each other, because Docker, a
// Kubernetes cluster and systemd are not available where the tests run.
package deployments
