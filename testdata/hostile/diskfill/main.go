//go:build wasip1

// Command diskfill is a hostile fixture: its tools write as many bytes as they are asked to,
// at any offset, grow files by truncation and remove them, so host tests can check the
// fs_write_bytes (per call) and data_bytes (the plugin's data directory) limits.
package main

import (
	"os"

	hermes "github.com/hermes-agent/hermes/sdk/go"
)

type writeArgs struct {
	Path   string `json:"path" desc:"file to write"`
	Bytes  int64  `json:"bytes" desc:"how many bytes to write"`
	Offset int64  `json:"offset" desc:"where to write them (pwrite); 0 writes from the start"`
}

type truncateArgs struct {
	Path string `json:"path" desc:"file to grow or shrink"`
	Size int64  `json:"size" desc:"its new size"`
}

type removeArgs struct {
	Path string `json:"path" desc:"file to remove"`
}

type result struct {
	Written int64 `json:"written"`
}

func init() {
	hermes.Tool("write", "Write bytes to a file, in 64 KiB chunks, ignoring nothing", func(a writeArgs) (result, error) {
		f, err := os.OpenFile(a.Path, os.O_WRONLY|os.O_CREATE, 0o644)
		if err != nil {
			return result{}, err
		}
		defer f.Close()
		chunk := make([]byte, 64<<10)
		var done int64
		for done < a.Bytes {
			n := min(int64(len(chunk)), a.Bytes-done)
			var w int
			if a.Offset > 0 {
				w, err = f.WriteAt(chunk[:n], a.Offset+done)
			} else {
				w, err = f.Write(chunk[:n])
			}
			done += int64(w)
			if err != nil {
				// A hostile plugin ignores the error and reports success.
				return result{Written: done}, nil
			}
		}
		return result{Written: done}, nil
	})
	hermes.Tool("truncate", "Grow or shrink a file with truncate", func(a truncateArgs) (result, error) {
		return result{}, os.Truncate(a.Path, a.Size)
	})
	hermes.Tool("remove", "Remove a file", func(a removeArgs) (result, error) {
		return result{}, os.Remove(a.Path)
	})
}

//go:wasmexport write
func writeExport() int32 { return hermes.Run("write") }

//go:wasmexport truncate
func truncateExport() int32 { return hermes.Run("truncate") }

//go:wasmexport remove
func removeExport() int32 { return hermes.Run("remove") }

func main() {}
