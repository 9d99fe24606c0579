// Package e2e holds the end-to-end tests of the pipeline: a simulated
// camera, the scanner and the archiver against a real NATS JetStream server
// and a real MinIO server. It has no code of its own.
package e2e
