package main

import (
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"
)

// Completion scripts. bash and zsh are urfave/cli v2's own (its autocomplete/ directory, MIT
// licence) with the program name filled in (and bash's working without the bash-completion
// package): they ask hermes itself, through the hidden
// --generate-bash-completion flag, for the commands and flags that fit where the cursor is, so
// they never go stale. fish's is generated from the command tree by urfave/cli
// (App.ToFishCompletion): commands, subcommands and flags, fixed at the time it is printed.
const bashCompletion = `# bash completion for hermes (hermes completion bash)
_hermes_init_completion() {
  COMPREPLY=()
  if declare -F _get_comp_words_by_ref >/dev/null 2>&1; then
    _get_comp_words_by_ref "$@" cur prev words cword
  else # without the bash-completion package
    cur="${COMP_WORDS[COMP_CWORD]}"
    words=("${COMP_WORDS[@]}")
    cword=$COMP_CWORD
  fi
}

_hermes_bash_autocomplete() {
  if [[ "${COMP_WORDS[0]}" != "source" ]]; then
    local cur opts base words
    COMPREPLY=()
    cur="${COMP_WORDS[COMP_CWORD]}"
    if declare -F _init_completion >/dev/null 2>&1; then
      _init_completion -n "=:" || return
    else
      _hermes_init_completion -n "=:" || return
    fi
    words=("${words[@]:0:$cword}")
    if [[ "$cur" == "-"* ]]; then
      requestComp="${words[*]} ${cur} --generate-bash-completion"
    else
      requestComp="${words[*]} --generate-bash-completion"
    fi
    opts=$(eval "${requestComp}" 2>/dev/null)
    COMPREPLY=($(compgen -W "${opts}" -- ${cur}))
    return 0
  fi
}

complete -o bashdefault -o default -o nospace -F _hermes_bash_autocomplete hermes
`

const zshCompletion = `#compdef hermes
# zsh completion for hermes (hermes completion zsh)

_hermes_zsh_autocomplete() {
  local -a opts
  local cur
  cur=${words[-1]}
  if [[ "$cur" == "-"* ]]; then
    opts=("${(@f)$(${words[@]:0:#words[@]-1} ${cur} --generate-bash-completion)}")
  else
    opts=("${(@f)$(${words[@]:0:#words[@]-1} --generate-bash-completion)}")
  fi

  if [[ "${opts[1]}" != "" ]]; then
    _describe 'values' opts
  else
    _files
  fi
}

compdef _hermes_zsh_autocomplete hermes
`

func newCompletionCmd(env *environment, app *cli.App) *cli.Command {
	return &cli.Command{
		Name:      "completion",
		Usage:     "print a shell completion script: bash, zsh or fish",
		ArgsUsage: "bash|zsh|fish",
		Description: "bash:  source <(hermes completion bash)      (or save it in /etc/bash_completion.d/hermes)\n" +
			"zsh:   source <(hermes completion zsh)       (or save it as _hermes in a directory of $fpath)\n" +
			"fish:  hermes completion fish > ~/.config/fish/completions/hermes.fish",
		Action: func(c *cli.Context) error {
			if c.Args().Len() != 1 {
				return usagef("completion takes one shell: bash, zsh or fish (see: hermes completion --help)")
			}
			script, err := completionScript(app, c.Args().First())
			if err != nil {
				return err
			}
			fmt.Fprint(env.Out, script)
			return nil
		},
	}
}

func completionScript(app *cli.App, shell string) (string, error) {
	switch strings.ToLower(shell) {
	case "bash":
		return bashCompletion, nil
	case "zsh":
		return zshCompletion, nil
	case "fish":
		script, err := app.ToFishCompletion()
		if err != nil {
			return "", fmt.Errorf("completion: generate the fish script: %w", err)
		}
		return script, nil
	}
	return "", usagef("completion: unknown shell %q; choose bash, zsh or fish", shell)
}
