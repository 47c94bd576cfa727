// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <QCoreApplication>
#include <QTest>

/// ctest reports a test program as skipped when it exits with this code
/// (SKIP_RETURN_CODE), and Qt Test's own exit code counts skips as passes:
/// a test program that skipped anything and failed nothing exits with it.
namespace TestSkip
{
constexpr int exitCode = 77;

inline bool &anySkipped()
{
    static bool skipped = false;
    return skipped;
}

inline int exitCodeOf(int qtTestExitCode)
{
    return qtTestExitCode == 0 && anySkipped() ? exitCode : qtTestExitCode;
}
} // namespace TestSkip

/// QSKIP that ctest sees: the reason is printed, the program reported as skipped.
#define REWIND_SKIP(reason)                                                                                                                                    \
    do {                                                                                                                                                       \
        TestSkip::anySkipped() = true;                                                                                                                         \
        QSKIP(reason);                                                                                                                                         \
    } while (false)

/// QTEST_GUILESS_MAIN and QTEST_MAIN, with the exit code of TestSkip
/// (REWIND_TEST_MAIN wants <QApplication>).
#define REWIND_TEST_MAIN_WITH(Application, TestObject)                                                                                                         \
    int main(int argc, char *argv[])                                                                                                                           \
    {                                                                                                                                                          \
        Application app(argc, argv);                                                                                                                           \
        app.setAttribute(Qt::AA_Use96Dpi, true);                                                                                                               \
        TestObject test;                                                                                                                                       \
        QTEST_SET_MAIN_SOURCE_PATH                                                                                                                             \
        return TestSkip::exitCodeOf(QTest::qExec(&test, argc, argv));                                                                                          \
    }
#define REWIND_TEST_GUILESS_MAIN(TestObject) REWIND_TEST_MAIN_WITH(QCoreApplication, TestObject)
#define REWIND_TEST_MAIN(TestObject) REWIND_TEST_MAIN_WITH(QApplication, TestObject)
