// Package role holds Cometa's five roles, their power order and their
// permission flags, and answers permission requirements written the way
// Cometa writes them ("view_accounts||view_accounts_panel").
package role

// Flag is one permission of a role, named as in Cometa's Permissions model.
type Flag string

// The permission flags of Cometa's Permissions model.
const (
	CreateAccount          Flag = "create_account"
	EditAccount            Flag = "edit_account"
	DeleteAccount          Flag = "delete_account"
	ViewAccounts           Flag = "view_accounts"
	CreateApplication      Flag = "create_application"
	EditApplication        Flag = "edit_application"
	DeleteApplication      Flag = "delete_application"
	CreateEnvironment      Flag = "create_environment"
	EditEnvironment        Flag = "edit_environment"
	DeleteEnvironment      Flag = "delete_environment"
	CreateDepartment       Flag = "create_department"
	EditDepartment         Flag = "edit_department"
	DeleteDepartment       Flag = "delete_department"
	CreateBrowser          Flag = "create_browser"
	EditBrowser            Flag = "edit_browser"
	DeleteBrowser          Flag = "delete_browser"
	CreateFeature          Flag = "create_feature"
	EditFeature            Flag = "edit_feature"
	DeleteFeature          Flag = "delete_feature"
	RunFeature             Flag = "run_feature"
	ViewFeature            Flag = "view_feature"
	RemoveScreenshot       Flag = "remove_screenshot"
	ChangeResultStatus     Flag = "change_result_status"
	RemoveFeatureResult    Flag = "remove_feature_result"
	DownloadResultFiles    Flag = "download_result_files"
	RemoveFeatureRuns      Flag = "remove_feature_runs"
	ViewAdminPanel         Flag = "view_admin_panel"
	ViewDepartmentsPanel   Flag = "view_departments_panel"
	ViewApplicationsPanel  Flag = "view_applications_panel"
	ViewBrowsersPanel      Flag = "view_browsers_panel"
	ViewEnvironmentsPanel  Flag = "view_environments_panel"
	ViewFeaturesPanel      Flag = "view_features_panel"
	ViewAccountsPanel      Flag = "view_accounts_panel"
	ViewOthersPanel        Flag = "view_others_panel"
	ShowAllDepartments     Flag = "show_all_departments"
	ShowDepartmentUsers    Flag = "show_department_users"
	CreateFolder           Flag = "create_folder"
	DeleteFolder           Flag = "delete_folder"
	CreateVariable         Flag = "create_variable"
	EditVariable           Flag = "edit_variable"
	DeleteVariable         Flag = "delete_variable"
	ManageHouseKeepingLogs Flag = "manage_house_keeping_logs"
	ManageConfigurations   Flag = "manage_configurations"
	ManageMobiles          Flag = "manage_mobiles"
)

// Flags returns every flag in the order of Cometa's model. The result is a
// fresh slice.
func Flags() []Flag {
	return []Flag{
		CreateAccount, EditAccount, DeleteAccount, ViewAccounts,
		CreateApplication, EditApplication, DeleteApplication,
		CreateEnvironment, EditEnvironment, DeleteEnvironment,
		CreateDepartment, EditDepartment, DeleteDepartment,
		CreateBrowser, EditBrowser, DeleteBrowser,
		CreateFeature, EditFeature, DeleteFeature, RunFeature, ViewFeature,
		RemoveScreenshot, ChangeResultStatus, RemoveFeatureResult,
		DownloadResultFiles, RemoveFeatureRuns,
		ViewAdminPanel, ViewDepartmentsPanel, ViewApplicationsPanel,
		ViewBrowsersPanel, ViewEnvironmentsPanel, ViewFeaturesPanel,
		ViewAccountsPanel, ViewOthersPanel,
		ShowAllDepartments, ShowDepartmentUsers,
		CreateFolder, DeleteFolder,
		CreateVariable, EditVariable, DeleteVariable,
		ManageHouseKeepingLogs, ManageConfigurations, ManageMobiles,
	}
}

// adminPanels are the panels whose view flags together make
// view_admin_panel: Cometa recomputes it as their OR on every save
// (view_others_panel does not count).
func adminPanels() []Flag {
	return []Flag{
		ViewDepartmentsPanel, ViewApplicationsPanel, ViewBrowsersPanel,
		ViewEnvironmentsPanel, ViewFeaturesPanel, ViewAccountsPanel,
	}
}

// bit returns the position of f in Flags, or -1 for an unknown flag.
func bit(f Flag) int {
	for i, g := range Flags() {
		if g == f {
			return i
		}
	}
	return -1
}

// ParseFlag returns the flag named name, and false for a name that is not
// a flag.
func ParseFlag(name string) (Flag, bool) {
	f := Flag(name)
	return f, bit(f) >= 0
}
