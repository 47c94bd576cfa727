// SPDX-License-Identifier: GPL-2.0-or-later
// The window's icons where no desktop names an icon theme (offscreen, as
// rewind-user): Breeze stands in, and every toolbar action, every state of
// the session list and the live view's buttons have an icon.
// REWIND_TEST_SCREENSHOTS=DIR keeps a picture of the window.
#include "HelperClient.h"
#include "IconTheme.h"
#include "MainWindow.h"
#include "TestSkip.h"

#include <QAction>
#include <QApplication>
#include <QIcon>
#include <QTest>
#include <QToolBar>

class MainWindowIconsTest : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase()
    {
        // The offscreen platform names no icon theme: Qt's own default is hicolor.
        QVERIFY2(QIcon::themeName().isEmpty() || QIcon::themeName() == QLatin1String("hicolor"), qPrintable(QIcon::themeName()));
        QVERIFY(!QIcon::hasThemeIcon(QStringLiteral("document-save")));
        IconTheme::useBreezeWhereNoneIsSet();
        QCOMPARE(QIcon::themeName(), QStringLiteral("breeze"));
        QCOMPARE(QIcon::fallbackThemeName(), QStringLiteral("breeze"));
    }

    void everyToolbarActionHasAnIcon()
    {
        HelperClient client;
        MainWindow window(&client);
        window.resize(1000, 700);
        window.show();
        QVERIFY(QTest::qWaitForWindowExposed(&window));

        const QList<QToolBar *> toolBars = window.findChildren<QToolBar *>();
        QVERIFY(!toolBars.isEmpty());
        int actions = 0;
        for (const QToolBar *toolBar : toolBars) {
            for (const QAction *action : toolBar->actions()) {
                if (action->isSeparator()) {
                    continue;
                }
                ++actions;
                QVERIFY2(!action->icon().isNull(), qPrintable(action->text()));
                QVERIFY2(!action->icon().pixmap(22).isNull(), qPrintable(action->text()));
            }
        }
        QVERIFY(actions > 0);

        if (const QString directory = qEnvironmentVariable("REWIND_TEST_SCREENSHOTS"); !directory.isEmpty()) {
            QVERIFY(window.grab().save(directory + QStringLiteral("/main-window.png")));
        }
    }

    void otherIconsOfTheWindowAreInBreeze_data()
    {
        QTest::addColumn<QString>("name");
        // The session list's states (SessionListModel) and the live view's buttons (LiveViewWindow).
        for (const char *name : {"media-playback-start", "media-playback-stop", "dialog-warning", "document-open-recent", "view-refresh", "krdc"}) {
            QTest::newRow(name) << QString::fromLatin1(name);
        }
    }

    void otherIconsOfTheWindowAreInBreeze()
    {
        QFETCH(QString, name);
        QVERIFY(QIcon::hasThemeIcon(name));
        QVERIFY(!QIcon::fromTheme(name).pixmap(16).isNull());
    }
};

REWIND_TEST_MAIN(MainWindowIconsTest)

#include "MainWindowIconsTest.moc"
