// Package cli holds what Tide's commands (cmd/scaler, cmd/scaler-kube and
// cmd/tide-demo, through cmd/internal/scalercmd and internal/explaincmd)
// share on the command line: flags that the environment can also set
// (TIDE_<FLAG>), the logging and policy flags, and the exit codes. Its
// errors name flags; the packages below it name fields.
package cli
