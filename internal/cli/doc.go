// Package cli holds what Tide's two commands (cmd/scaler and cmd/tide-demo)
// share on the command line: flags that the environment can also set
// (TIDE_<FLAG>), the logging flags, and the explain command over
// pkg/explain. Its errors name flags; the packages below it name fields.
package cli
