package trigger

import (
	"slices"
	"strings"
	"testing"
)

// TestOwners: Own reports each owner new once, whether it is the first
// (kept inline) or a later one, and Owners lists every one.
func TestOwners(t *testing.T) {
	var tr Trigger
	if got := tr.Owners(); len(got) != 0 {
		t.Fatalf("no owner yet: Owners %v", got)
	}
	a, b, c := Owner{"ns", "a"}, Owner{"ns", "b"}, Owner{"other", "a"}
	for i, step := range []struct {
		o     Owner
		first bool
	}{{a, true}, {a, false}, {b, true}, {a, false}, {c, true}, {b, false}, {c, false}} {
		if got := tr.Own(step.o); got != step.first {
			t.Errorf("step %d: Own(%v) = %v, want %v", i, step.o, got, step.first)
		}
	}
	got := tr.Owners()
	slices.SortFunc(got, func(x, y Owner) int { return strings.Compare(x.Namespace+"/"+x.Name, y.Namespace+"/"+y.Name) })
	if want := []Owner{a, b, c}; !slices.Equal(got, want) {
		t.Errorf("Owners %v, want %v", got, want)
	}
}
