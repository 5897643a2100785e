module github.com/imapd-go/imapd

go 1.26
