// envoy-bootstrap-check: a test peer (never product code) that checks Envoy bootstrap documents
// the way Envoy loads them, with Envoy's own API definitions from go-control-plane:
//
//  1. YAML (JSON is YAML) → JSON → protojson into envoy.config.bootstrap.v3.Bootstrap with
//     unknown fields refused, as Envoy refuses them in a static bootstrap; every
//     google.protobuf.Any ("@type") must name a type Envoy's v3 API defines (extensions.go
//     registers them all);
//  2. protoc-gen-validate rules (ValidateAll) on the bootstrap, and on the content of every Any,
//     which the generated rules do not descend into but Envoy validates when it unpacks it;
//  3. fields and enum values Envoy refuses by default (envoy.annotations.disallowed_by_default);
//     deprecated ones are only warned about, as Envoy only logs them;
//  4. a few of the checks Envoy makes when it loads static resources, beyond the proto rules:
//     listener and cluster names are unique, no two listeners share an address, the socket
//     addresses Envoy's IP resolver parses (admin, listeners, bind configs, STATIC cluster
//     endpoints) are IP literals, and a route in an inline route configuration names a static
//     cluster (Envoy's validate_clusters, on by default for inline routes) unless clusters come
//     from CDS.
//
// Not checked: anything Envoy learns only at run time (whether ports can be bound, extensions
// compiled into a particular Envoy build, fields newer than the Envoy that runs the bootstrap:
// the API is go-control-plane's, see -version).
//
// Usage: envoy-bootstrap-check [FILE...]   one document per file; no FILE or "-" reads stdin
//
//	envoy-bootstrap-check -version       the go-control-plane version built in
//
// Exit codes: 0 every document is valid; 1 some document is invalid (one line per problem on
// stderr: "<file>: <field path>: <reason>"); 2 bad usage or an unreadable file.
package main

import (
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"runtime/debug"
	"strings"
	"unicode"

	"github.com/envoyproxy/go-control-plane/envoy/annotations"
	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/known/anypb"
	"sigs.k8s.io/yaml"
)

const apiModule = "github.com/envoyproxy/go-control-plane/envoy"

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: envoy-bootstrap-check [FILE...]   (no FILE or \"-\": read stdin)")
	fmt.Fprintln(w, "       envoy-bootstrap-check -version")
	fmt.Fprintln(w, "Checks Envoy v3 bootstrap documents (YAML or JSON) against Envoy's API and validation rules.")
	fmt.Fprintln(w, "Exit: 0 all valid, 1 some invalid (problems on stderr), 2 usage or unreadable input.")
}

func apiVersion() string {
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, dep := range info.Deps {
			if dep.Path == apiModule {
				return dep.Version
			}
		}
	}
	return "unknown"
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	var files []string
	for i := 0; i < len(args); i++ {
		arg := args[i]
		switch {
		case arg == "--":
			files = append(files, args[i+1:]...)
			i = len(args)
		case arg == "-version" || arg == "--version":
			fmt.Fprintf(stdout, "envoy-bootstrap-check %s %s\n", apiModule, apiVersion())
			return 0
		case arg == "-h" || arg == "-help" || arg == "--help":
			usage(stdout)
			return 0
		case strings.HasPrefix(arg, "-") && arg != "-":
			fmt.Fprintf(stderr, "envoy-bootstrap-check: unknown option %s\n", arg)
			usage(stderr)
			return 2
		default:
			files = append(files, arg)
		}
	}
	if len(files) == 0 {
		files = []string{"-"}
	}
	status := 0
	for _, file := range files {
		var text []byte
		var err error
		name := file
		if file == "-" {
			name = "<stdin>"
			text, err = io.ReadAll(stdin)
		} else {
			text, err = os.ReadFile(file)
		}
		if err != nil {
			fmt.Fprintf(stderr, "envoy-bootstrap-check: %v\n", err)
			return 2
		}
		problems, warnings := check(text)
		for _, w := range warnings {
			fmt.Fprintf(stderr, "%s: warning: %s\n", name, w)
		}
		if len(problems) == 0 {
			fmt.Fprintf(stdout, "%s: valid Envoy v3 bootstrap (%s %s)\n", name, apiModule, apiVersion())
			continue
		}
		status = 1
		for _, p := range problems {
			fmt.Fprintf(stderr, "%s: %s\n", name, p)
		}
	}
	return status
}

// check returns the problems that make Envoy reject the document, and warnings Envoy only logs.
func check(text []byte) (problems, warnings []string) {
	if strings.TrimSpace(string(text)) == "" {
		return []string{"empty document"}, nil
	}
	jsonText, err := yaml.YAMLToJSON(text)
	if err != nil {
		return []string{"not YAML or JSON: " + err.Error()}, nil
	}
	var b bootstrapv3.Bootstrap
	// DiscardUnknown false: an unknown field (a misspelling, a field of a newer or older API) is
	// an error, as in Envoy. The resolver is protoregistry.GlobalTypes, filled by extensions.go.
	if err := (protojson.UnmarshalOptions{DiscardUnknown: false}).Unmarshal(jsonText, &b); err != nil {
		return []string{"does not parse as envoy.config.bootstrap.v3.Bootstrap: " + err.Error()}, nil
	}
	c := &checker{}
	c.validate(&b, "")
	c.walk(b.ProtoReflect(), "")
	c.staticResources(&b)
	return c.problems, c.warnings
}

type checker struct {
	problems, warnings []string
	// Clusters named by routes of inline route configurations that validate their clusters:
	// path → cluster name, in the order found.
	routeClusters []namedRef
	// > 0 while walking a RouteConfiguration with validate_clusters: false.
	unvalidatedRoutes int
}

type namedRef struct{ path, name string }

// staticResources makes the load-time checks Envoy's listener and cluster managers make.
func (c *checker) staticResources(b *bootstrapv3.Bootstrap) {
	static := b.GetStaticResources()
	c.address(b.GetAdmin().GetAddress(), "admin.address")
	c.bindConfig(b.GetClusterManager().GetUpstreamBindConfig(), "cluster_manager.upstream_bind_config")
	clusters := map[string]int{}
	for i, cl := range static.GetClusters() {
		p := fmt.Sprintf("static_resources.clusters[%d]", i)
		c.bindConfig(cl.GetUpstreamBindConfig(), p+".upstream_bind_config")
		if cl.GetType() == clusterv3.Cluster_STATIC {
			for j, locality := range cl.GetLoadAssignment().GetEndpoints() {
				for k, lb := range locality.GetLbEndpoints() {
					c.address(lb.GetEndpoint().GetAddress(), fmt.Sprintf("%s.load_assignment.endpoints[%d].lb_endpoints[%d].endpoint.address", p, j, k))
				}
			}
		}
		if j, dup := clusters[cl.GetName()]; dup {
			c.problems = append(c.problems, fmt.Sprintf("%s.name: duplicate cluster %q (also clusters[%d])", p, cl.GetName(), j))
			continue
		}
		clusters[cl.GetName()] = i
	}
	listeners := map[string]int{}
	addresses := map[string]int{}
	for i, l := range static.GetListeners() {
		c.address(l.GetAddress(), fmt.Sprintf("static_resources.listeners[%d].address", i))
		for j, extra := range l.GetAdditionalAddresses() {
			c.address(extra.GetAddress(), fmt.Sprintf("static_resources.listeners[%d].additional_addresses[%d].address", i, j))
		}
		if j, dup := listeners[l.GetName()]; dup && l.GetName() != "" {
			c.problems = append(c.problems, fmt.Sprintf("static_resources.listeners[%d].name: duplicate listener %q (also listeners[%d])", i, l.GetName(), j))
		} else {
			listeners[l.GetName()] = i
		}
		if sa := l.GetAddress().GetSocketAddress(); sa != nil {
			addr := fmt.Sprintf("%s %s:%d", sa.GetProtocol(), sa.GetAddress(), sa.GetPortValue())
			if j, dup := addresses[addr]; dup && sa.GetPortValue() != 0 {
				c.problems = append(c.problems, fmt.Sprintf("static_resources.listeners[%d].address: %s:%d is also the address of listeners[%d] (%s)", i, sa.GetAddress(), sa.GetPortValue(), j, static.GetListeners()[j].GetName()))
			} else {
				addresses[addr] = i
			}
		}
	}
	if b.GetDynamicResources().GetCdsConfig() != nil || b.GetDynamicResources().GetCdsResourcesLocator() != "" {
		return
	}
	for _, ref := range c.routeClusters {
		if _, ok := clusters[ref.name]; !ok {
			c.problems = append(c.problems, fmt.Sprintf("%s: unknown cluster %q (no such static cluster, and no CDS)", ref.path, ref.name))
		}
	}
}

// ipLiteral: a socket address without a custom resolver must hold an IP literal, which is all
// Envoy's default resolver accepts ("malformed IP address" otherwise). path names sa.
func (c *checker) ipLiteral(sa *corev3.SocketAddress, path string) {
	if sa == nil || sa.GetResolverName() != "" || sa.GetAddress() == "" {
		return // not set, another resolver, or already refused by the proto rules
	}
	if _, err := netip.ParseAddr(sa.GetAddress()); err != nil {
		c.problems = append(c.problems, fmt.Sprintf("%s.address: %q is not an IP address (Envoy's default resolver takes IP literals only)", path, sa.GetAddress()))
	}
}

// address: ipLiteral for an Address (path names it) that holds a socket address.
func (c *checker) address(a *corev3.Address, path string) {
	c.ipLiteral(a.GetSocketAddress(), path+".socket_address")
}

func (c *checker) bindConfig(bind *corev3.BindConfig, path string) {
	c.ipLiteral(bind.GetSourceAddress(), path+".source_address")
	for i, extra := range bind.GetExtraSourceAddresses() {
		c.ipLiteral(extra.GetAddress(), fmt.Sprintf("%s.extra_source_addresses[%d].address", path, i))
	}
	for i, extra := range bind.GetAdditionalSourceAddresses() {
		c.ipLiteral(extra, fmt.Sprintf("%s.additional_source_addresses[%d]", path, i))
	}
}

// noteRoutes records what staticResources checks inside route configurations.
func (c *checker) noteRoutes(m proto.Message, path string) (leave func()) {
	switch msg := m.(type) {
	case *routev3.RouteConfiguration:
		if v := msg.GetValidateClusters(); v != nil && !v.GetValue() {
			c.unvalidatedRoutes++
			return func() { c.unvalidatedRoutes-- }
		}
	case *routev3.RouteAction:
		if c.unvalidatedRoutes > 0 {
			break
		}
		if name := msg.GetCluster(); name != "" {
			c.routeClusters = append(c.routeClusters, namedRef{joinPath(path, "cluster"), name})
		}
		for i, w := range msg.GetWeightedClusters().GetClusters() {
			if w.GetName() != "" {
				c.routeClusters = append(c.routeClusters, namedRef{fmt.Sprintf("%s.weighted_clusters.clusters[%d].name", path, i), w.GetName()})
			}
		}
	}
	return func() {}
}

// validate runs the protoc-gen-validate rules of m (and of the messages inside it, except the
// content of Any fields, which walk validates separately).
func (c *checker) validate(m proto.Message, path string) {
	v, ok := m.(interface{ ValidateAll() error })
	if !ok {
		return
	}
	if err := v.ValidateAll(); err != nil {
		c.flatten(path, err)
	}
}

// The shapes of protoc-gen-validate's generated errors.
type fieldError interface {
	Field() string
	Reason() string
	Cause() error
}
type multiError interface{ AllErrors() []error }

// flatten turns a chain of validation errors into one "<field path>: <reason>" line per
// violated rule, with proto (snake_case) field names.
func (c *checker) flatten(path string, err error) {
	var multi multiError
	if errors.As(err, &multi) && isMulti(err) {
		for _, e := range multi.AllErrors() {
			c.flatten(path, e)
		}
		return
	}
	if f, ok := err.(fieldError); ok {
		p := joinPath(path, protoFieldName(f.Field()))
		if cause := f.Cause(); cause != nil {
			if _, nested := cause.(fieldError); nested || isMulti(cause) {
				c.flatten(p, cause)
				return
			}
			c.problems = append(c.problems, fmt.Sprintf("%s: %s: %v", displayPath(p), f.Reason(), cause))
			return
		}
		c.problems = append(c.problems, fmt.Sprintf("%s: %s", displayPath(p), f.Reason()))
		return
	}
	c.problems = append(c.problems, fmt.Sprintf("%s: %v", displayPath(path), err))
}

func isMulti(err error) bool {
	_, ok := err.(multiError)
	return ok
}

// protoFieldName maps protoc-gen-validate's Go field name ("StaticResources", "Listeners[0]")
// to the proto name a bootstrap author writes ("static_resources", "listeners[0]").
func protoFieldName(goName string) string {
	suffix := ""
	if i := strings.IndexByte(goName, '['); i >= 0 {
		goName, suffix = goName[:i], goName[i:]
	}
	var b strings.Builder
	for i, r := range goName {
		if unicode.IsUpper(r) {
			if i > 0 {
				b.WriteByte('_')
			}
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String() + suffix
}

func joinPath(path, name string) string {
	if path == "" {
		return name
	}
	if strings.HasPrefix(name, "[") {
		return path + name
	}
	return path + "." + name
}

func displayPath(path string) string {
	if path == "" {
		return "(bootstrap)"
	}
	return path
}

// walk visits every set field: refused and deprecated fields and enum values, and the content
// of every Any (resolved, validated, and walked in turn).
func (c *checker) walk(m protoreflect.Message, path string) {
	defer c.noteRoutes(m.Interface(), path)()
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		p := joinPath(path, string(fd.Name()))
		c.fieldStatus(fd, p)
		switch {
		case fd.IsList():
			list := v.List()
			for i := 0; i < list.Len(); i++ {
				c.value(fd, list.Get(i), fmt.Sprintf("%s[%d]", p, i))
			}
		case fd.IsMap():
			v.Map().Range(func(k protoreflect.MapKey, mv protoreflect.Value) bool {
				c.value(fd.MapValue(), mv, fmt.Sprintf("%s[%v]", p, k.Interface()))
				return true
			})
		default:
			c.value(fd, v, p)
		}
		return true
	})
}

func (c *checker) value(fd protoreflect.FieldDescriptor, v protoreflect.Value, path string) {
	if fd.Kind() == protoreflect.EnumKind {
		if ev := fd.Enum().Values().ByNumber(v.Enum()); ev != nil {
			if opts, ok := ev.Options().(*descriptorpb.EnumValueOptions); ok && opts != nil {
				if proto.GetExtension(opts, annotations.E_DisallowedByDefaultEnum).(bool) {
					c.problems = append(c.problems, fmt.Sprintf("%s: enum value %s is deprecated and disallowed by default", path, ev.Name()))
				} else if opts.GetDeprecated() {
					c.warnings = append(c.warnings, fmt.Sprintf("%s: enum value %s is deprecated", path, ev.Name()))
				}
			}
		}
		return
	}
	if fd.Message() == nil {
		return
	}
	msg := v.Message()
	if msg.Descriptor().FullName() != "google.protobuf.Any" {
		c.walk(msg, path)
		return
	}
	any, ok := msg.Interface().(*anypb.Any)
	if !ok {
		c.problems = append(c.problems, fmt.Sprintf("%s: unexpected Any representation %T", path, msg.Interface()))
		return
	}
	inner, err := any.UnmarshalNew()
	if err != nil {
		c.problems = append(c.problems, fmt.Sprintf("%s: cannot unpack %s: %v", path, any.GetTypeUrl(), err))
		return
	}
	p := fmt.Sprintf("%s<%s>", path, inner.ProtoReflect().Descriptor().FullName())
	c.validate(inner, p)
	c.walk(inner.ProtoReflect(), p)
}

func (c *checker) fieldStatus(fd protoreflect.FieldDescriptor, path string) {
	opts, ok := fd.Options().(*descriptorpb.FieldOptions)
	if !ok || opts == nil {
		return
	}
	if proto.GetExtension(opts, annotations.E_DisallowedByDefault).(bool) {
		c.problems = append(c.problems, fmt.Sprintf("%s: field is deprecated and disallowed by default", path))
	} else if opts.GetDeprecated() {
		c.warnings = append(c.warnings, fmt.Sprintf("%s: field is deprecated", path))
	}
}
