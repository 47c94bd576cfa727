// SPDX-License-Identifier: GPL-2.0-or-later
#include "TestCgroupParent.h"

#include "CgroupEvents.h"

#include <QDir>
#include <QFile>
#include <QRandomGenerator>

#include <chrono>
#include <unistd.h>

namespace
{
void writeTo(const QString &path, const QByteArray &value)
{
    QFile file(path);
    if (file.open(QIODevice::WriteOnly)) {
        file.write(value);
    }
}
}

TestCgroupParent::TestCgroupParent()
    // Test runs in other pid namespaces share the cgroup hierarchy: the pid alone may repeat.
    : m_path(QStringLiteral("/sys/fs/cgroup/rewind-test-%1-%2").arg(::getpid()).arg(QRandomGenerator::global()->generate(), 8, 16, QLatin1Char('0')))
{
}

TestCgroupParent::~TestCgroupParent()
{
    const QDir parent(m_path);
    if (!parent.exists()) {
        return;
    }
    const auto children = parent.entryList(QDir::Dirs | QDir::NoDotAndDotDot);
    for (const QString &child : children) {
        const QString dir = parent.filePath(child);
        writeTo(dir + QStringLiteral("/cgroup.freeze"), "0");
        writeTo(dir + QStringLiteral("/cgroup.kill"), "1");
        if (auto events = Rewind::CgroupEvents::open(dir)) {
            (void)events->waitFor("populated", 0, std::chrono::steady_clock::now() + std::chrono::seconds(10));
        }
        if (!parent.rmdir(child)) {
            qWarning("Could not remove the test cgroup %s", qPrintable(dir));
        }
    }
    if (!QDir().rmdir(m_path)) {
        qWarning("Could not remove the test cgroup parent %s", qPrintable(m_path));
    }
}
