package inet

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"
)

// TestTCPLockContract checks the locking rules stated once above tcpSock:
// a *tcpSock method that takes a sock's Mu itself (so is entered without it)
// says so in a "Locking:" line, and the Locked suffix is never used on a
// *tcpSock method (it means a table's lock, not a sock's Mu).
func TestTCPLockContract(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.ParseComments)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok || fd.Recv == nil || fd.Body == nil || !isTCPSockRecv(fd.Recv) {
				continue
			}
			if strings.HasSuffix(fd.Name.Name, "Locked") {
				t.Errorf("%s: (*tcpSock).%s: Locked means a table's lock held, not the sock's Mu", fset.Position(fd.Pos()), fd.Name.Name)
			}
			if takesMu(fd.Body) && !strings.Contains(fd.Doc.Text(), "Locking:") {
				t.Errorf("%s: (*tcpSock).%s takes a sock's Mu but its doc has no Locking: line", fset.Position(fd.Pos()), fd.Name.Name)
			}
		}
	}
}

func isTCPSockRecv(fl *ast.FieldList) bool {
	if len(fl.List) != 1 {
		return false
	}
	st, ok := fl.List[0].Type.(*ast.StarExpr)
	if !ok {
		return false
	}
	id, ok := st.X.(*ast.Ident)
	return ok && id.Name == "tcpSock"
}

// takesMu reports a call of x.Mu.Lock() in body, outside function literals
// (a closure run later, such as a timer's, is its own entry point).
func takesMu(body *ast.BlockStmt) bool {
	found := false
	ast.Inspect(body, func(n ast.Node) bool {
		if _, ok := n.(*ast.FuncLit); ok {
			return false
		}
		call, ok := n.(*ast.CallExpr)
		if !ok {
			return true
		}
		sel, ok := call.Fun.(*ast.SelectorExpr)
		if !ok || sel.Sel.Name != "Lock" {
			return true
		}
		if mu, ok := sel.X.(*ast.SelectorExpr); ok && mu.Sel.Name == "Mu" {
			found = true
		}
		return true
	})
	return found
}
