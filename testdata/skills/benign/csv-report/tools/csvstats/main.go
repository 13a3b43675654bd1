// Command csvstats is the csv-report skill's tool: columns reads a CSV file from the
// workspace and returns per-column statistics. Build with:
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o csvstats.wasm .
package main

import (
	"encoding/csv"
	"os"
	"strconv"

	hermes "github.com/hermes-agent/hermes/sdk/go"
)

type describeArgs struct {
	Path string `json:"path" jsonschema:"CSV file under the workspace"`
}

type column struct {
	Name    string   `json:"name"`
	Type    string   `json:"type"`
	Count   int      `json:"count"`
	Missing int      `json:"missing"`
	Min     *float64 `json:"min,omitempty"`
	Max     *float64 `json:"max,omitempty"`
}

func init() {
	hermes.Tool("columns", "Describe the columns of a CSV file", func(a describeArgs) ([]column, error) {
		f, err := os.Open("/workspace/" + a.Path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		rows, err := csv.NewReader(f).ReadAll()
		if err != nil || len(rows) == 0 {
			return nil, err
		}
		cols := make([]column, len(rows[0]))
		for i, name := range rows[0] {
			cols[i] = column{Name: name, Type: "number"}
		}
		for _, row := range rows[1:] {
			for i := range cols {
				if i >= len(row) || row[i] == "" {
					cols[i].Missing++
					continue
				}
				cols[i].Count++
				v, err := strconv.ParseFloat(row[i], 64)
				if err != nil {
					cols[i].Type = "text"
					continue
				}
				if cols[i].Min == nil || v < *cols[i].Min {
					cols[i].Min = &v
				}
				if cols[i].Max == nil || v > *cols[i].Max {
					cols[i].Max = &v
				}
			}
		}
		return cols, nil
	})
}

// "describe" is the ABI's own export (the tool list), so the tool is named columns.
//
//go:wasmexport columns
func columns() int32 { return hermes.Run("columns") }

func main() {}
