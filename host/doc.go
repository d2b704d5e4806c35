// Package host implements the host side of runlet's guest ABI (module
// "runlet", documented in package pdk): results, logs and host calls.
//
// Every capability a guest can use arrives per job in a [*Job] carried by
// the context of the guest call; the host module itself holds no state, so
// one instantiation serves every guest of a wazero runtime.
package host
