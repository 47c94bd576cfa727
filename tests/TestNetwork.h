// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <QByteArray>
#include <QString>
#include <QTcpServer>

#include <sys/types.h>

/// What a test of sessions' networks needs: a default route for pasta to
/// copy (where the machine has none, as in the development environment's
/// network namespace, a veth link of the test's own with one, removed again
/// when this goes away), and the address that leads to the host's loopback
/// from inside a cell (the gateway's, which pasta maps there).
class TestNetwork
{
public:
    TestNetwork();
    ~TestNetwork();
    TestNetwork(const TestNetwork &) = delete;
    TestNetwork &operator=(const TestNetwork &) = delete;

    /// Empty if there is no way to route, else the gateway's IPv4 address.
    QString gateway() const
    {
        return m_gateway;
    }
    /// Why there is no gateway; empty if there is one.
    QString error() const
    {
        return m_error;
    }

private:
    QString m_gateway;
    QString m_error;
    bool m_madeLink = false;
};

/// Answers every line with itself, on every connection.
class EchoServer : public QTcpServer
{
public:
    EchoServer();
};

/// rewind-test-connections (tests/programs) in the cell of initPid, run as
/// user: asks it to check its connections (command number NUMBER) and
/// returns its report without the number, or what went wrong.
QByteArray checkConnections(pid_t initPid, uid_t user, long number);
/// What rewind-test-connections last reported ("ready" once it holds everything).
QByteArray connectionsReport(pid_t initPid);
