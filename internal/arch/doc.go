// Package arch holds no code: its tests check the package graph the README
// draws (what each package may import), with `go list -deps`.
package arch
