//go:build !linux

package testredis

import "os/exec"

// orphanProof has no portable equivalent outside Linux; t.Cleanup still
// stops the server.
func orphanProof(*exec.Cmd) {}
