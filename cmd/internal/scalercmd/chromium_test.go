package scalercmd

import (
	"bufio"
	"context"
	"os/exec"
	"regexp"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/remote"
)

var devtoolsRE = regexp.MustCompile(`DevTools listening on (ws://\S+)`)

// startChromium starts Debian's headless Chromium in a process group of
// its own with a fresh profile, trusting only the certificate whose public
// key hashes to spkiHash, and returns a chromedp context attached to it.
// The test's cleanup ends the whole group and waits for it.
func startChromium(t *testing.T, chromium, spkiHash string) context.Context {
	t.Helper()
	cmd := exec.Command(chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-dev-shm-usage", "--hide-scrollbars", "--force-device-scale-factor=1",
		"--user-data-dir="+t.TempDir(), "--remote-debugging-port=0", "--remote-debugging-address=127.0.0.1",
		"--ignore-certificate-errors-spki-list="+spkiHash, "about:blank")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", chromium, err)
	}
	exited := make(chan struct{})
	ws := make(chan string, 1)
	var mu sync.Mutex
	var lines []string
	output := func() []string {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(lines)
	}
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := devtoolsRE.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case ws <- m[1]:
				default:
				}
			} else {
				mu.Lock()
				if len(lines) < 50 {
					lines = append(lines, sc.Text())
				}
				mu.Unlock()
			}
		}
		cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			t.Error("chromium did not exit after SIGKILL")
		}
	})
	var url string
	select {
	case url = <-ws:
	case <-exited:
		t.Fatalf("chromium exited before listening: %q", output())
	case <-time.After(30 * time.Second):
		t.Fatalf("chromium did not announce its DevTools address in 30s: %q", output())
	}
	actx, acancel := remote.NewAllocator(context.Background(), url)
	t.Cleanup(acancel)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(cancel)
	return ctx
}
