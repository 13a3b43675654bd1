package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestCompletion: each script is accepted by its shell (zsh and fish when installed; CI has
// bash), and completing "hermes plugins in" offers install.
func TestCompletion(t *testing.T) {
	c := newCLI(t)
	// The scripts run "hermes"; put the binary under test first on PATH by that name.
	bin := t.TempDir()
	if err := os.Symlink(hermesBin, filepath.Join(bin, "hermes")); err != nil {
		t.Fatal(err)
	}
	path := bin + string(os.PathListSeparator) + os.Getenv("PATH")
	for _, tc := range []struct {
		shell, check, complete string
	}{
		{"bash", "-n", `source "$1"; COMP_WORDS=(hermes plugins in); COMP_CWORD=2; _hermes_bash_autocomplete; printf '%s\n' "${COMPREPLY[@]}"`},
		{"zsh", "-n", ""},
		{"fish", "--no-execute", `source $argv[1]; complete -C "hermes plugins in"`},
	} {
		t.Run(tc.shell, func(t *testing.T) {
			script := c.mustRun(t, "completion", tc.shell)
			if !strings.Contains(script, "hermes") {
				t.Fatalf("script:\n%s", script)
			}
			sh, err := exec.LookPath(tc.shell)
			if err != nil {
				if tc.shell == "bash" {
					t.Fatal("bash is not installed")
				}
				t.Skipf("%s is not installed", tc.shell)
			}
			file := filepath.Join(t.TempDir(), "hermes."+tc.shell)
			os.WriteFile(file, []byte(script), 0o644)
			if out, err := exec.Command(sh, tc.check, file).CombinedOutput(); err != nil {
				t.Fatalf("%s %s refuses the script: %v\n%s", tc.shell, tc.check, err, out)
			}
			if tc.complete == "" {
				return
			}
			cmd := exec.Command(sh, "-c", tc.complete, tc.shell, file)
			if tc.shell == "fish" {
				cmd = exec.Command(sh, "-c", tc.complete, file)
			}
			cmd.Env = append(os.Environ(), "PATH="+path, "HERMES_HOME="+c.home)
			out, err := cmd.CombinedOutput()
			if err != nil || !strings.Contains(string(out), "install") || strings.Contains(string(out), "list") {
				t.Fatalf("completing 'hermes plugins in': %v\n%s", err, out)
			}
		})
	}
	c.wantExit(t, ExitUsage, `unknown shell "tcsh"`, "completion", "tcsh")
	c.wantExit(t, ExitUsage, "completion takes one shell", "completion")
}
