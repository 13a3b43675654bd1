// Command linkfloor is the second anchor of the start-up benchmark (BenchmarkStartup in
// cmd/hermes): a program that links every third-party package hermes' own packages import,
// and does nothing else. Its start-up is what those libraries cost before hermes runs a line
// of its own: their package initialisation (regular expressions, tables, registrations) and
// the runtime start of a binary their size. Keep the list in step with
// `go list -deps ./cmd/hermes` (TestLinkFloorImportsHermesLibraries checks it).
package main

import (
	_ "github.com/BurntSushi/toml"
	_ "github.com/bwmarrin/discordgo"
	_ "github.com/containerd/errdefs"
	_ "github.com/docker/docker/api/types"
	_ "github.com/docker/docker/api/types/container"
	_ "github.com/docker/docker/api/types/filters"
	_ "github.com/docker/docker/api/types/image"
	_ "github.com/docker/docker/api/types/mount"
	_ "github.com/docker/docker/client"
	_ "github.com/docker/docker/pkg/jsonmessage"
	_ "github.com/docker/docker/pkg/stdcopy"
	_ "github.com/go-telegram/bot"
	_ "github.com/go-telegram/bot/models"
	_ "github.com/google/jsonschema-go/jsonschema"
	_ "github.com/gorilla/websocket"
	_ "github.com/modelcontextprotocol/go-sdk/jsonrpc"
	_ "github.com/modelcontextprotocol/go-sdk/mcp"
	_ "github.com/openai/openai-go/v3"
	_ "github.com/openai/openai-go/v3/option"
	_ "github.com/openai/openai-go/v3/packages/param"
	_ "github.com/openai/openai-go/v3/packages/ssestream"
	_ "github.com/openai/openai-go/v3/shared"
	_ "github.com/opencontainers/go-digest"
	_ "github.com/opencontainers/image-spec/specs-go"
	_ "github.com/opencontainers/image-spec/specs-go/v1"
	_ "github.com/slack-go/slack"
	_ "github.com/slack-go/slack/slackevents"
	_ "github.com/slack-go/slack/socketmode"
	_ "github.com/tetratelabs/wazero"
	_ "github.com/tetratelabs/wazero/api"
	_ "github.com/tetratelabs/wazero/experimental"
	_ "github.com/tetratelabs/wazero/experimental/sys"
	_ "github.com/tetratelabs/wazero/experimental/sysfs"
	_ "github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
	_ "github.com/tetratelabs/wazero/sys"
	_ "github.com/urfave/cli/v2"
	_ "go.yaml.in/yaml/v3"
	_ "golang.org/x/sys/unix"
	_ "golang.org/x/term"
	_ "modernc.org/sqlite"
	_ "mvdan.cc/sh/v3/expand"
	_ "mvdan.cc/sh/v3/syntax"
	_ "oras.land/oras-go/v2/errdef"
	_ "oras.land/oras-go/v2/registry"
	_ "oras.land/oras-go/v2/registry/remote"
	_ "oras.land/oras-go/v2/registry/remote/auth"
	_ "oras.land/oras-go/v2/registry/remote/errcode"
	_ "oras.land/oras-go/v2/registry/remote/retry"
)

func main() {}
