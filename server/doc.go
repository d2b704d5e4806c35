// Package server will hold runlet's HTTP surface: Connect services, REST
// triggers and webhooks, sharing one service layer. It lands with the
// server issues; the engine it drives is package runtime.
package server
