// SPDX-License-Identifier: GPL-2.0-or-later
// rewind-demo-app: the app demo and test sessions run.
#include "DemoWindow.h"

#include <KLocalizedString>

#include <QApplication>

int main(int argc, char **argv)
{
    QApplication app(argc, argv);
    KLocalizedString::setApplicationDomain("rewind");
    QApplication::setApplicationName(QStringLiteral("rewind-demo-app"));

    DemoWindow window(qEnvironmentVariable("REWIND_DEMO_STATE"));
    window.show();
    return app.exec();
}
