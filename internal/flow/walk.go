package flow

import "strconv"

// Walk calls fn for each module of mods and, depth first, for the modules
// nested in it (loop bodies, then each branch, then a branchone's
// default), whatever its type. path locates the module from mods, e.g.
// "[1].value.branches[0].modules[2]". Walk stops as soon as fn returns
// false.
func Walk(mods []Module, fn func(m *Module, path string) bool) {
	walkModules(mods, "", fn)
}

func walkModules(mods []Module, prefix string, fn func(*Module, string) bool) bool {
	for i := range mods {
		if !walkModule(&mods[i], prefix+"["+strconv.Itoa(i)+"]", fn) {
			return false
		}
	}
	return true
}

// walkModule visits m then the modules nested in it.
func walkModule(m *Module, path string, fn func(*Module, string) bool) bool {
	if !fn(m, path) {
		return false
	}
	if !walkModules(m.Value.Modules, path+".value.modules", fn) {
		return false
	}
	for j := range m.Value.Branches {
		if !walkModules(m.Value.Branches[j].Modules, path+".value.branches["+strconv.Itoa(j)+"].modules", fn) {
			return false
		}
	}
	return walkModules(m.Value.Default, path+".value.default", fn)
}

// walkFlow visits every module of f, the failure module last; paths are
// from the document's root ("value.modules[0]", "value.failure_module").
func walkFlow(f *Flow, fn func(*Module, string) bool) {
	if !walkModules(f.Value.Modules, "value.modules", fn) {
		return
	}
	if fm := f.Value.FailureModule; fm != nil {
		walkModule(fm, "value.failure_module", fn)
	}
}

// Find returns the module with the given id — at any depth, or the failure
// module — or nil.
func (f *Flow) Find(id string) *Module {
	var found *Module
	walkFlow(f, func(m *Module, _ string) bool {
		if m.ID == id {
			found = m
		}
		return found == nil
	})
	return found
}
