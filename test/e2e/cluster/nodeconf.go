package cluster

import (
	"fmt"
	"path/filepath"
)

// containerdConfig keeps every path of containerd 2 under dir (sandbox
// network namespaces included), pins the pause image built here, uses
// cgroupfs (the machine has cgroup v1 and no systemd) and its own runc.
func containerdConfig(dir, sock, runc string) string {
	return fmt.Sprintf(`version = 3
root = %[1]q
state = %[2]q
disabled_plugins = ["io.containerd.nri.v1.nri", "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]

[grpc]
  address = %[3]q
[ttrpc]
  address = %[4]q

[plugins.'io.containerd.internal.v1.opt']
  path = %[5]q
[plugins.'io.containerd.cri.v1.images']
  snapshotter = "overlayfs"
  [plugins.'io.containerd.cri.v1.images'.pinned_images]
    sandbox = %[6]q
[plugins.'io.containerd.cri.v1.runtime']
  netns_mounts_under_state_dir = true
  # This machine refuses any oom_score_adj below 0, even to root; the CRI
  # asks -998 for a sandbox. Clamp to containerd's own (0).
  restrict_oom_score_adj = true
  [plugins.'io.containerd.cri.v1.runtime'.cni]
    bin_dirs = ["/usr/lib/cni"]
    conf_dir = %[7]q
  [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
    SystemdCgroup = false
    BinaryName = %[8]q
[plugins.'io.containerd.grpc.v1.cri']
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
`, filepath.Join(dir, "containerd/root"), filepath.Join(dir, "containerd/state"), sock, sock+".ttrpc",
		filepath.Join(dir, "containerd/opt"), PauseImage, filepath.Join(dir, "cni/net.d"), runc)
}

// cniConfig is one bridge network: pods on podSubnet, the host at Gateway,
// no masquerading (nothing leaves the machine).
func cniConfig(dir string) string {
	return fmt.Sprintf(`{
  "cniVersion": "1.0.0",
  "name": "tide-e2e",
  "plugins": [{
    "type": "bridge", "bridge": %q, "isGateway": true, "ipMasq": false, "hairpinMode": true,
    "ipam": {"type": "host-local", "dataDir": %q,
      "ranges": [[{"subnet": %q, "gateway": %q}]], "routes": [{"dst": "0.0.0.0/0"}]}
  }]
}
`, bridgeName, filepath.Join(dir, "cni/ipam"), podSubnet, Gateway)
}

// kubeletConfig serves the kubelet on loopback only, keeps its files under
// dir, registers the node with NodeTaint, and accepts this machine's
// cgroup v1 (Kubernetes 1.35+ refuses it unless failCgroupV1 is false).
// Eviction thresholds are low: a shared CI disk must not evict the scaler.
func kubeletConfig(dir, sock string, port, healthz int) string {
	return fmt.Sprintf(`apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: 127.0.0.1
port: %[1]d
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: %[2]d
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: false}
authorization: {mode: AlwaysAllow}
containerRuntimeEndpoint: unix://%[3]s
imageServiceEndpoint: unix://%[3]s
cgroupDriver: cgroupfs
cgroupRoot: /%[4]s
failCgroupV1: false
failSwapOn: false
podCIDR: %[5]s
podLogsDir: %[6]s
resolvConf: /etc/resolv.conf
maxPods: 16
serializeImagePulls: false
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard: {memory.available: "100Mi", nodefs.available: "1%%", imagefs.available: "1%%", nodefs.inodesFree: "1%%"}
syncFrequency: 10s
nodeStatusUpdateFrequency: 5s
registerWithTaints:
- {key: %[7]q, value: %[8]q, effect: %[9]s}
`, port, healthz, sock, cgroupRoot, podSubnet, filepath.Join(dir, "pod-logs"), NodeTaint.Key, NodeTaint.Value, NodeTaint.Effect)
}
