package abi

import (
	"cmp"
	"slices"
)

// SchemaBound is what BoundSchema learned about a parameters schema that lets a call bound,
// before validating, what validating its arguments will take.
type SchemaBound struct {
	nodes []boundNode
	root  int32 // -1: the whole schema is true, false or not an object
}

type boundNode struct {
	order   int // a node comes after every node that applies it in place
	weight  int64
	inPlace []int32 // -1: a subschema that is not an object (true, false): one step
	props   map[string]int32
	anyProp []int32
	names   []int32
	prefix  []int32
	anyItem []int32
}

// bound turns the checked graph into a SchemaBound; post is each node's finishing order in
// the walk of in-place edges.
func (g *schemaGraph) bound(post map[string]int) *SchemaBound {
	ptrs := make([]string, 0, len(g.nodes))
	for ptr := range g.nodes {
		ptrs = append(ptrs, ptr)
	}
	slices.Sort(ptrs)
	index := make(map[string]int32, len(ptrs))
	for i, ptr := range ptrs {
		index[ptr] = int32(i)
	}
	idx := func(ptr string) int32 {
		if i, ok := index[ptr]; ok {
			return i
		}
		return -1
	}
	list := func(ptrs []string) []int32 {
		out := make([]int32, len(ptrs))
		for i, p := range ptrs {
			out[i] = idx(p)
		}
		return out
	}
	b := &SchemaBound{nodes: make([]boundNode, len(ptrs)), root: idx("")}
	for i, ptr := range ptrs {
		n := g.nodes[ptr]
		bn := boundNode{order: len(ptrs) - post[ptr], weight: int64(n.weight),
			inPlace: list(append(append([]string(nil), n.inPlace...), n.refs...)),
			anyProp: list(n.anyProp), names: list(n.names), prefix: list(n.prefix), anyItem: list(n.anyItem)}
		if len(n.props) > 0 {
			bn.props = make(map[string]int32, len(n.props))
			for name, p := range n.props {
				bn.props[name] = idx(p)
			}
		}
		b.nodes[i] = bn
	}
	return b
}

// Work returns an upper bound on the steps (see MaxValidationWork) validating v, arguments
// decoded by encoding/json, against the schema takes, as the validator would take them: every
// subschema of allOf, anyOf, oneOf, not, if/then/else and $ref applied to a value, then those
// of properties, items and the rest to its parts, each as many times as it is reached. It stops
// counting once the figure passes limit, so it costs at most about limit steps of its own,
// a few nanoseconds each.
func (b *SchemaBound) Work(v any, limit int64) int64 {
	w := &boundWalk{b: b, limit: limit, stamp: make([]uint32, len(b.nodes)), mult: make([]int64, len(b.nodes))}
	w.value(v, []applied{{b.root, 1}})
	return w.total
}

type applied struct {
	node  int32
	times int64
}

type boundWalk struct {
	b            *SchemaBound
	limit, total int64
	gen          uint32
	stamp        []uint32 // stamp[i] == gen: node i is applied to the value being counted
	mult         []int64  // how many times, then
}

func (w *boundWalk) charge(n int64) {
	w.total = min(w.total+n, w.limit+1)
}

func (w *boundWalk) over() bool { return w.total > w.limit }

// value counts validating v against the subschemas in entries, each applied so many times,
// and returns v's size (about its length as JSON).
func (w *boundWalk) value(v any, entries []applied) int64 {
	if len(entries) == 0 {
		return jsonSize(v)
	}
	if w.over() {
		return 0
	}
	// Everything applied in place, each with how many times it is reached: the nodes are
	// gathered, then taken in an order where a node comes after all that apply it.
	w.gen++
	var reach []int32
	var leaves int64 // applications of true, false
	for _, e := range entries {
		if e.node < 0 {
			leaves += e.times
			continue
		}
		if w.stamp[e.node] != w.gen {
			w.stamp[e.node], w.mult[e.node] = w.gen, 0
			reach = append(reach, e.node)
		}
		w.mult[e.node] = min(w.mult[e.node]+e.times, w.limit+1)
	}
	for i := 0; i < len(reach); i++ {
		for _, c := range w.b.nodes[reach[i]].inPlace {
			if c >= 0 && w.stamp[c] != w.gen {
				w.stamp[c], w.mult[c] = w.gen, 0
				reach = append(reach, c)
			}
		}
	}
	slices.SortFunc(reach, func(a, b int32) int { return cmp.Compare(w.b.nodes[a].order, w.b.nodes[b].order) })
	own := make([]applied, 0, len(reach))
	applications := leaves
	for _, i := range reach {
		n, m := &w.b.nodes[i], w.mult[i]
		w.charge(m * n.weight)
		applications = min(applications+m, w.limit+1)
		for _, c := range n.inPlace {
			if c < 0 {
				applications = min(applications+m, w.limit+1)
			} else {
				w.mult[c] = min(w.mult[c]+m, w.limit+1)
			}
		}
		own = append(own, applied{i, m})
	}
	w.charge(leaves)
	if w.over() {
		return 0
	}
	var size int64
	switch v := v.(type) {
	case []any:
		size = 2
		for i, item := range v {
			if w.over() {
				return 0
			}
			w.charge(int64(len(own)))
			var next []applied
			for _, a := range own {
				n := &w.b.nodes[a.node]
				if i < len(n.prefix) {
					next = append(next, applied{n.prefix[i], a.times})
				}
				for _, c := range n.anyItem {
					next = append(next, applied{c, a.times})
				}
			}
			size += 1 + w.value(item, next)
		}
	case map[string]any:
		size = 2
		for k, member := range v {
			if w.over() {
				return 0
			}
			// Each member's name is looked up, and matched against patterns, once per node.
			w.charge(int64(len(own)) * (1 + int64(len(k))>>6))
			var next, names []applied
			for _, a := range own {
				n := &w.b.nodes[a.node]
				if c, ok := n.props[k]; ok {
					next = append(next, applied{c, a.times})
				}
				for _, c := range n.anyProp {
					next = append(next, applied{c, a.times})
				}
				for _, c := range n.names {
					names = append(names, applied{c, a.times})
				}
			}
			size += w.value(k, names) + 2 + w.value(member, next)
		}
	default:
		size = jsonSize(v)
	}
	// Every subschema applied here reads the whole value once more at worst: a pattern, a
	// length or uniqueItems does, and so does the error of one that fails, which prints it
	// (anyOf keeps every branch's).
	w.charge(applications * (size / bytesPerStep))
	return size
}

// bytesPerStep is how much of a value validating it against one subschema may read (or
// print into its error) for one step.
const bytesPerStep = 16

// jsonSize is about the length of v as JSON (or as %v prints it).
func jsonSize(v any) int64 {
	switch v := v.(type) {
	case string:
		return int64(len(v)) + 2
	case []any:
		s := int64(2)
		for _, e := range v {
			s += 1 + jsonSize(e)
		}
		return s
	case map[string]any:
		s := int64(2)
		for k, e := range v {
			s += int64(len(k)) + 4 + jsonSize(e)
		}
		return s
	}
	return 8
}
