//go:build !race

package kedacompat

const race = false
