// Command etcd is the etcd server at the version Kubernetes itself
// requires, built from the module proxy for the end-to-end tests.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
