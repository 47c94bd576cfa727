// SPDX-License-Identifier: GPL-2.0-or-later
#include "TestCgroupParent.h"

#include "CellLimits.h"
#include "CgroupEvents.h"
#include "CgroupFiles.h"

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
    // The cgroup v1 directories of cells hold the same processes: they empty with the cgroup v2 ones.
    const auto limits = Rewind::CellLimits::detect(m_path);
    const QStringList legacyParents = limits ? limits->parents().mid(1) : QStringList();
    const QDir parent(m_path);
    if (parent.exists()) {
        thawAndKill(m_path);
        if (auto removed = Rewind::CgroupFiles::removeTree(m_path); !removed) {
            qWarning("Could not remove the test cgroup parent: %s", qPrintable(removed.errorMessage()));
        }
    }
    for (const QString &legacy : legacyParents) {
        if (auto removed = Rewind::CgroupFiles::removeTree(legacy); QDir(legacy).exists() && !removed) {
            qWarning("Could not remove the test cgroup parent: %s", qPrintable(removed.errorMessage()));
        }
    }
}

void TestCgroupParent::thawAndKill(const QString &directory)
{
    const auto children = QDir(directory).entryList(QDir::Dirs | QDir::NoDotAndDotDot);
    for (const QString &child : children) {
        const QString dir = directory + QLatin1Char('/') + child;
        writeTo(dir + QStringLiteral("/cgroup.freeze"), "0");
        writeTo(dir + QStringLiteral("/cgroup.kill"), "1");
        if (auto events = Rewind::CgroupEvents::open(dir)) {
            (void)events->waitFor("populated", 0, std::chrono::steady_clock::now() + std::chrono::seconds(10));
        }
    }
}
