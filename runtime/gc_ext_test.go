package runtime_test

import goruntime "runtime"

func goruntimeGC() { goruntime.GC() }
