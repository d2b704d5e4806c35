package inner

import (
	"database/sql"

	"github.com/example/s3"
)

type PostgresDB struct {
	Host string `json:"host"`
	Port int    `json:"port"`
}

type S3Bucket struct {
	Name string
}

type base struct{ URL string }

// HTTPClient's underlying type is a struct, through base.
type HTTPClient base

// Node refers to itself; as a resource it is never expanded.
type Node struct {
	Next *Node
}

func main(db PostgresDB, bucket S3Bucket, client HTTPClient, head *Node, conn sql.DB, up s3.UploadConfig, other SlackToken, list []PostgresDB) (string, error) {
	return "", nil
}
