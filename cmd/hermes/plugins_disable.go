package main

import "github.com/urfave/cli/v2"

func newPluginsDisableCmd(env *environment) *cli.Command {
	return newPluginsSwitchCmd(env, false, "disable", "stop offering a plugin's tools and loading it, keeping its grants and data")
}
