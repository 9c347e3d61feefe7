// An empty stand-in: k8s.io/kubernetes requires k8s.io/sample-apiserver
// v0.0.0, which the module proxy does not serve, and nothing we build
// imports it.
module k8s.io/sample-apiserver

go 1.26.0
