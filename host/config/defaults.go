package config

import (
	"time"

	"github.com/hermes-agent/hermes/abi"
)

// DefaultLimits are the per-call limits every plugin gets unless config.toml lowers or raises
// them ([plugins.limits]); a manifest may only lower them. They are the security defaults for
// plugins and are declared here and nowhere else.
func DefaultLimits() abi.Limits {
	return abi.Limits{
		// 64 MiB of linear memory: enough for a Go plugin's runtime and real work; a
		// memory bomb stops here.
		MemoryPages: 1024,
		// A tool that has not answered in 30 s is stuck, not slow.
		Timeout: abi.Duration(30 * time.Second),
		// 1 MiB of JSON is already more than a model can use as one tool result.
		OutputBytes: 1 << 20,
		// 8 MiB covers web pages and API responses; more is a download, not a tool call.
		HTTPResponseBytes: 8 << 20,
		// 256 MiB written by one call is a large export or a build artefact; a call that goes on
		// writing is filling the disk (2 GiB took 4.4 s).
		FSWriteBytes: 256 << 20,
		// 1 GiB of {plugin_data} holds caches, indexes and downloaded models of a few hundred
		// MiB; past that a plugin is using the user's disk as its own.
		DataBytes: 1 << 30,
		// 64 MiB of keys and values is a large cache or index in the shared state.db; past that
		// a plugin is growing everyone's database (10,000 keys of 1 MiB would be 10 GiB).
		KVBytes: 64 << 20,
	}
}

// Default returns the configuration used when config.toml is absent or silent.
func Default() Config {
	return Config{
		Model:    Model{BaseURL: "https://openrouter.ai/api/v1", Name: "anthropic/claude-sonnet-4", APIKeyEnv: "OPENROUTER_API_KEY"},
		Agent:    Agent{MaxIterations: 20, MaxParallel: 4, ToolResultLimit: 20_000},
		Plugins:  Plugins{Limits: DefaultLimits(), ActivityPerPlugin: 10000},
		Terminal: DefaultTerminal(),
		API:      DefaultAPI(),
		Gateway: Gateway{
			Telegram: GatewayPlatform{APIURL: "https://api.telegram.org"},
			Discord:  GatewayPlatform{APIURL: "https://discord.com/api/v10"},
			Slack:    GatewayPlatform{APIURL: "https://slack.com/api/"},
		},
	}
}

// DefaultAPI is how `hermes api` serves unless config.toml says otherwise: on this machine only,
// with dangerous commands refused, since no one is there to ask.
func DefaultAPI() API {
	return API{
		Host: "127.0.0.1",
		Port: 8642,
		// A long conversation's text; anything larger is an upload, not a chat.
		MaxBodyBytes: 1 << 20,
		// Twenty model requests and their tools fit; a run still going after ten minutes is stuck.
		RequestTimeout: abi.Duration(600 * time.Second),
		// Each run holds a model request and plugin instances; a handful at once is what one
		// machine and one provider account serve well.
		MaxConcurrentRuns: 8,
		ShutdownTimeout:   abi.Duration(30 * time.Second),
		DangerousCommands: "deny",
	}
}

// DefaultTerminal is where commands run unless config.toml says otherwise: on the host, with
// dangerous commands asked about and hardline ones refused; nothing of hermes' environment
// passed on.
func DefaultTerminal() Terminal {
	return Terminal{
		Backend:         "local",
		Timeout:         abi.Duration(180 * time.Second),
		OutputLimit:     50_000,
		ApprovalTimeout: abi.Duration(300 * time.Second),
		Docker: Docker{
			Image:    "nikolaik/python-nodejs:python3.11-nodejs20",
			CPUs:     1,
			MemoryMB: 2048,
		},
	}
}
