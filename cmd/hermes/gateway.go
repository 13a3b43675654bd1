package main

import (
	"fmt"
	"slices"
	"strings"
)

// gatewayPlatforms are the chat platforms `hermes gateway` knows, in the order it lists them.
var gatewayPlatforms = []string{"telegram", "discord", "slack"}

// gatewayRunnable are the platforms `gateway run` can connect to in this build.
var gatewayRunnable = []string{"telegram", "discord", "slack"}

// gatewayPlatform checks a platform argument.
func gatewayPlatform(cmd, name string) (string, error) {
	name = strings.ToLower(strings.TrimSpace(name))
	if !slices.Contains(gatewayPlatforms, name) {
		return "", usagef("gateway %s: unknown platform %q: use %s", cmd, name, strings.Join(gatewayPlatforms, ", "))
	}
	return name, nil
}

// gatewayEnv is the name of a platform's variable (environment or .env): TELEGRAM_BOT_TOKEN, ...
func gatewayEnv(platform, suffix string) string {
	return fmt.Sprintf("%s_%s", strings.ToUpper(platform), suffix)
}

// gatewayTokens are the variables a platform needs set to connect.
func gatewayTokens(platform string) []string {
	if platform == "slack" {
		return []string{"SLACK_BOT_TOKEN", "SLACK_APP_TOKEN"}
	}
	return []string{gatewayEnv(platform, "BOT_TOKEN")}
}
