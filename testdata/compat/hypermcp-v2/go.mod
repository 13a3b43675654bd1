module example.com/hypermcpv2

go 1.26

require github.com/extism/go-pdk v1.1.3
