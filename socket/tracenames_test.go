package socket_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// TestTraceNamesAreCode holds the trace to the rule docs/sockfsd.md states:
// every kernel name a trace line prints (tcp_v4_rcv, sk_data_ready) is a Go
// function (tcpV4Rcv), a method whose receiver stands for the name's prefix
// (tcp_transmit_skb: (*tcpSock).transmitSkb; a family word before it may
// go: inet_twsk_hashdance_schedule on a timewait sock), a function of a
// package that stands for the prefix the same way (__sys_bind:
// socket.Bind), or a func-typed field of that name (sk_data_ready:
// Sock.DataReady), somewhere in the module.
//
// It reads the module's source, so trace lines added later are checked
// without being listed here. A trace hook is any call whose function's name
// contains "trace" or is Emitf; the names it can print are the snake_case
// words in its string-literal arguments (formats and concatenations), in
// the string literals returned by module functions called in its
// arguments, and in the literal values given anywhere to a
// struct field read in its arguments (Prot.SendmsgName). A word followed by
// '=' is a key (len=, seq=), not a name.
func TestTraceNamesAreCode(t *testing.T) {
	m := loadModule(t, "..")
	names := m.traceNames()
	if len(names) < 20 {
		t.Fatalf("found only %d trace names: the collector no longer sees the trace hooks", len(names))
	}
	var bad []string
	for name, where := range names {
		if !m.resolves(name) {
			bad = append(bad, name+" (printed at "+where+")")
		}
	}
	sort.Strings(bad)
	for _, b := range bad {
		t.Errorf("trace name %s is no function, method or callback field", b)
	}
}

// TestTraceNameFieldsNameTheirSlot: a table's kernel name for a slot
// (SendmsgName: "ping_v4_sendmsg") is the name of the function in that
// slot (Sendmsg: pingV4Sendmsg), so the trace cannot name another.
func TestTraceNameFieldsNameTheirSlot(t *testing.T) {
	m := loadModule(t, "..")
	checked := 0
	for _, f := range m.files {
		ast.Inspect(f, func(n ast.Node) bool {
			lit, ok := n.(*ast.CompositeLit)
			if !ok {
				return true
			}
			slots := map[string]ast.Expr{}
			for _, e := range lit.Elts {
				if kv, ok := e.(*ast.KeyValueExpr); ok {
					if k, ok := kv.Key.(*ast.Ident); ok {
						slots[k.Name] = kv.Value
					}
				}
			}
			for key, v := range slots {
				slot, ok := strings.CutSuffix(key, "Name")
				name, isStr := stringLit(v)
				if !ok || slot == "" || !isStr || slots[slot] == nil {
					continue
				}
				id, ok := slots[slot].(*ast.Ident)
				if !ok {
					continue
				}
				checked++
				if strings.ReplaceAll(name, "_", "") != strings.ToLower(id.Name) {
					t.Errorf("%s: %s %q names %s, not %s", m.fset.Position(v.Pos()), key, name, slot, id.Name)
				}
			}
			return true
		})
	}
	if checked < 8 {
		t.Errorf("checked only %d name fields; want the four protos' SendmsgName and RecvmsgName", checked)
	}
}

// TestTraceNameResolver checks the resolver on names that exist and on
// ones that do not, so the test above can fail.
func TestTraceNameResolver(t *testing.T) {
	m := loadModule(t, "..")
	for _, name := range []string{"tcp_v4_rcv", "tcp_transmit_skb", "sk_data_ready", "sock_def_wakeup", "dev_queue_xmit", "__sock_create", "__sys_bind"} {
		if !m.resolves(name) {
			t.Errorf("%s: want resolved", name)
		}
	}
	for _, name := range []string{"tcp_no_such_function", "sk_no_such_callback", "udp_transmit_skb", "__sys_no_such_call", "__sys_transmit_skb"} {
		if m.resolves(name) {
			t.Errorf("%s: resolved, want not", name)
		}
	}
}

type module struct {
	fset  *token.FileSet
	files []*ast.File

	funcs   map[string]*ast.FuncDecl // lowered name, no receiver
	pkgs    map[string][]string      // lowered function name -> its packages
	methods map[string][]string      // lowered method or func field name -> lowered receiver/struct names
	// fieldVals holds the string literals given to a struct field in
	// composite literals, by field name and then the literal's type name
	// (SendmsgName, Proto: "tcp_sendmsg").
	fieldVals map[string]map[string][]string
	// fieldTypes maps a struct field's name to its types' names (Prot:
	// Proto), so a.Prot.Name reads only Proto literals' Name.
	fieldTypes map[string][]string
}

func loadModule(t *testing.T, root string) *module {
	t.Helper()
	m := &module{
		fset:       token.NewFileSet(),
		funcs:      map[string]*ast.FuncDecl{},
		pkgs:       map[string][]string{},
		methods:    map[string][]string{},
		fieldVals:  map[string]map[string][]string{},
		fieldTypes: map[string][]string{},
	}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if n := d.Name(); path != root && (strings.HasPrefix(n, ".") || n == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		f, err := parser.ParseFile(m.fset, path, src, 0)
		if err != nil {
			return err
		}
		m.files = append(m.files, f)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Named func types, so a field of such a type counts as a callback.
	funcTypes := map[string]bool{}
	for _, f := range m.files {
		ast.Inspect(f, func(n ast.Node) bool {
			if ts, ok := n.(*ast.TypeSpec); ok {
				if _, ok := ts.Type.(*ast.FuncType); ok {
					funcTypes[ts.Name.Name] = true
				}
			}
			return true
		})
	}
	for _, f := range m.files {
		for _, d := range f.Decls {
			if fd, ok := d.(*ast.FuncDecl); ok {
				name := strings.ToLower(fd.Name.Name)
				if fd.Recv == nil {
					m.funcs[name] = fd
					m.pkgs[name] = append(m.pkgs[name], f.Name.Name)
				} else {
					m.methods[name] = append(m.methods[name], strings.ToLower(recvName(fd.Recv.List[0].Type)))
				}
			}
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.TypeSpec:
				st, ok := n.Type.(*ast.StructType)
				if !ok {
					return true
				}
				for _, fl := range st.Fields.List {
					for _, id := range fl.Names {
						if typ := typeName(fl.Type); !slices.Contains(m.fieldTypes[id.Name], typ) {
							m.fieldTypes[id.Name] = append(m.fieldTypes[id.Name], typ)
						}
					}
					isFunc := false
					switch ft := fl.Type.(type) {
					case *ast.FuncType:
						isFunc = true
					case *ast.Ident:
						isFunc = funcTypes[ft.Name]
					}
					if !isFunc {
						continue
					}
					for _, id := range fl.Names {
						k := strings.ToLower(id.Name)
						m.methods[k] = append(m.methods[k], strings.ToLower(n.Name.Name))
					}
				}
			case *ast.CompositeLit:
				typ := typeName(n.Type)
				for _, e := range n.Elts {
					kv, ok := e.(*ast.KeyValueExpr)
					if !ok {
						continue
					}
					key, ok := kv.Key.(*ast.Ident)
					if !ok {
						continue
					}
					if s, ok := stringLit(kv.Value); ok {
						if m.fieldVals[key.Name] == nil {
							m.fieldVals[key.Name] = map[string][]string{}
						}
						m.fieldVals[key.Name][typ] = append(m.fieldVals[key.Name][typ], s)
					}
				}
			}
			return true
		})
	}
	return m
}

func recvName(e ast.Expr) string {
	switch e := e.(type) {
	case *ast.StarExpr:
		return recvName(e.X)
	case *ast.Ident:
		return e.Name
	case *ast.IndexExpr:
		return recvName(e.X)
	}
	return ""
}

// typeName is a type expression's name without pointer or package
// (*socket.Proto: Proto); "" for other types.
func typeName(e ast.Expr) string {
	switch e := e.(type) {
	case *ast.StarExpr:
		return typeName(e.X)
	case *ast.SelectorExpr:
		return e.Sel.Name
	case *ast.Ident:
		return e.Name
	}
	return ""
}

// selectorValues lists the literal values a field read x.F can hold: those
// given to F in literals of x's type when that is known (x a parameter, or
// a field read: a.Prot.Name reads Proto literals), else in any literal.
func (m *module) selectorValues(sel *ast.SelectorExpr, env map[string]string) []string {
	byType := m.fieldVals[sel.Sel.Name]
	var types []string
	switch x := sel.X.(type) {
	case *ast.SelectorExpr:
		types = m.fieldTypes[x.Sel.Name]
	case *ast.Ident:
		if typ := env[x.Name]; typ != "" {
			types = []string{typ}
		}
	}
	var out []string
	if len(types) > 0 {
		for _, typ := range types {
			out = append(out, byType[typ]...)
		}
		return out
	}
	for _, vs := range byType {
		out = append(out, vs...)
	}
	return out
}

func stringLit(e ast.Expr) (string, bool) {
	bl, ok := e.(*ast.BasicLit)
	if !ok || bl.Kind != token.STRING {
		return "", false
	}
	s, err := strconv.Unquote(bl.Value)
	return s, err == nil
}

// isTraceHook reports whether a call emits a trace line.
func isTraceHook(call *ast.CallExpr) bool {
	var name string
	switch fn := call.Fun.(type) {
	case *ast.Ident:
		name = fn.Name
	case *ast.SelectorExpr:
		name = fn.Sel.Name
	default:
		return false
	}
	return name == "Emitf" || strings.Contains(strings.ToLower(name), "trace")
}

var snakeWord = regexp.MustCompile(`_*[a-z][a-z0-9]*(?:_[a-z0-9]+)+`)

// words returns the snake_case names in s, skipping keys (word=) and
// pieces of longer words.
func words(s string) []string {
	var out []string
	for _, loc := range snakeWord.FindAllStringIndex(s, -1) {
		if loc[0] > 0 && isWordByte(s[loc[0]-1]) {
			continue
		}
		if loc[1] < len(s) && (s[loc[1]] == '=' || isWordByte(s[loc[1]])) {
			continue
		}
		out = append(out, s[loc[0]:loc[1]])
	}
	return out
}

func isWordByte(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// traceNames maps every name a trace line can print to where.
func (m *module) traceNames() map[string]string {
	names := map[string]string{}
	for _, f := range m.files {
		for _, d := range f.Decls {
			env := map[string]string{} // parameter -> its type's name
			if fd, ok := d.(*ast.FuncDecl); ok {
				for _, fl := range []*ast.FieldList{fd.Recv, fd.Type.Params} {
					if fl == nil {
						continue
					}
					for _, p := range fl.List {
						for _, id := range p.Names {
							env[id.Name] = typeName(p.Type)
						}
					}
				}
			}
			// Locals typed by what defines them: dev := skb.Dev (a
			// field of a known type), p := &T{...}. And every value
			// assigned to a local (path := "..."; path += " -> " +
			// called; called = "tcp_shutdown"), so a line built in
			// variables is read too.
			vals := map[string][]ast.Expr{}
			ast.Inspect(d, func(n ast.Node) bool {
				as, ok := n.(*ast.AssignStmt)
				if !ok || len(as.Lhs) != len(as.Rhs) {
					return true
				}
				for i, l := range as.Lhs {
					id, ok := l.(*ast.Ident)
					if !ok {
						continue
					}
					vals[id.Name] = append(vals[id.Name], as.Rhs[i])
					if as.Tok != token.DEFINE {
						continue
					}
					r := as.Rhs[i]
					if u, ok := r.(*ast.UnaryExpr); ok && u.Op == token.AND {
						r = u.X
					}
					switch r := r.(type) {
					case *ast.CompositeLit:
						env[id.Name] = typeName(r.Type)
					case *ast.SelectorExpr:
						if ts := m.fieldTypes[r.Sel.Name]; len(ts) == 1 {
							env[id.Name] = ts[0]
						}
					}
				}
				return true
			})
			m.collect(d, env, vals, names)
		}
	}
	return names
}

// collect adds to names the words the trace hooks in n can print; env
// types the enclosing function's parameters, vals holds what its locals
// are assigned.
func (m *module) collect(n ast.Node, env map[string]string, vals map[string][]ast.Expr, names map[string]string) {
	{
		ast.Inspect(n, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || !isTraceHook(call) {
				return true
			}
			where := m.fset.Position(call.Pos()).String()
			add := func(s string) {
				for _, w := range words(s) {
					if _, ok := names[w]; !ok {
						names[w] = where
					}
				}
			}
			seen := map[string]bool{}
			var visit func(e ast.Expr)
			visit = func(e ast.Expr) {
				ast.Inspect(e, func(n ast.Node) bool {
					switch n := n.(type) {
					case *ast.Ident:
						if !seen[n.Name] {
							seen[n.Name] = true
							for _, v := range vals[n.Name] {
								visit(v)
							}
						}
					case *ast.BasicLit:
						if s, ok := stringLit(n); ok {
							add(s)
						}
					case *ast.SelectorExpr:
						for _, s := range m.selectorValues(n, env) {
							add(s)
						}
					case *ast.CallExpr:
						if id, ok := n.Fun.(*ast.Ident); ok {
							if fd := m.funcs[strings.ToLower(id.Name)]; fd != nil && fd.Body != nil {
								for _, s := range returnedStrings(fd) {
									add(s)
								}
							}
						}
					}
					return true
				})
			}
			for _, arg := range call.Args {
				visit(arg)
			}
			return true
		})
	}
}

// returnedStrings lists the string literals a function's returns build.
func returnedStrings(fd *ast.FuncDecl) []string {
	var out []string
	ast.Inspect(fd.Body, func(n ast.Node) bool {
		if r, ok := n.(*ast.ReturnStmt); ok {
			for _, e := range r.Results {
				ast.Inspect(e, func(n ast.Node) bool {
					if s, ok := stringLit(asExpr(n)); ok {
						out = append(out, s)
					}
					return true
				})
			}
		}
		return true
	})
	return out
}

func asExpr(n ast.Node) ast.Expr {
	e, _ := n.(ast.Expr)
	return e
}

// resolves applies the naming rule to one kernel name.
func (m *module) resolves(name string) bool {
	// Leading underscores (__sys_sendto, __inet_bind) mark the kernel's
	// inner variants; Go names drop them.
	parts := strings.Split(strings.TrimLeft(name, "_"), "_")
	whole := strings.Join(parts, "")
	if m.funcs[whole] != nil {
		return true
	}
	if len(m.methods[whole]) > 0 {
		return true // a method of a namespace receiver (*Net).tcpV4Rcv
	}
	for k := 1; k < len(parts); k++ {
		rest := strings.Join(parts[k:], "")
		// A package stands for a prefix as a receiver does.
		prefix := strings.Join(parts[:k], "")
		for _, pkg := range m.pkgs[rest] {
			if pkgPrefixes[prefix] == pkg || standsFor(prefix, pkg) {
				return true
			}
		}
		for _, recv := range m.methods[rest] {
			// The receiver may stand for the prefix after a family word:
			// inet_twsk_hashdance_schedule on a tcpTimewaitSock (twsk).
			for j := 0; j < k; j++ {
				if standsFor(strings.Join(parts[j:k], ""), recv) {
					return true
				}
			}
		}
	}
	return false
}

// pkgPrefixes names the packages that stand for a kernel prefix without
// spelling it: socket/syscalls.go is net/socket.c's __sys_* layer
// (socket.Bind is __sys_bind, socket.Sendto __sys_sendto).
var pkgPrefixes = map[string]string{"sys": "socket"}

// standsFor reports whether a receiver or struct type (lowered) stands for
// a kernel prefix: it contains it (tcpsock for tcp, netdevice for dev) or
// abbreviates it from its first letter (sock for sk, tcptimewaitsock for
// twsk).
func standsFor(prefix, typ string) bool {
	if strings.Contains(typ, prefix) {
		return true
	}
	if typ == "" || typ[0] != prefix[0] {
		return false
	}
	i := 0
	for j := 0; j < len(typ) && i < len(prefix); j++ {
		if typ[j] == prefix[i] {
			i++
		}
	}
	return i == len(prefix)
}
